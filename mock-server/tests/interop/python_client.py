"""Interop: the Python SDK wechatpayv3 against the standalone mock.

argv: base_url mchid serial merchant_key_file public_key_id public_key_file wrong_key_file
Prints one JSON object with what each step saw.
"""
import json
import sys

import requests
from wechatpayv3.core import Core
from wechatpayv3.type import RequestType

base_url, mchid, serial, key_file, public_key_id, public_key_file, wrong_key_file = sys.argv[1:8]
PATH = '/v3/ecommerce/profitsharing/after-sales-orders'


def client(key_file_path):
    core = Core(mchid=mchid, cert_serial_no=serial, private_key=open(key_file_path).read(),
                apiv3_key='0' * 32, public_key=open(public_key_file).read(),
                public_key_id=public_key_id)
    core._gate_way = base_url  # the SDK has no setting for its host
    return core


def body(tx):
    return {'sub_mchid': '1900000109', 'transaction_id': tx, 'amount': 100,
            'type': 'SERVICE_FEE_INCOME', 'scene': 'REFUND_TICKET',
            'refund_id': '50000000382019052709732678859'}


def query(core, tx):
    code, text = core.request(f'{PATH}?sub_mchid=1900000109&transaction_id={tx}')
    return code, json.loads(text)


def control(path, payload):
    return requests.post(f'{base_url}/mock/{path}', json=payload, timeout=10).status_code


core = client(key_file)
out = {}
out['create'] = core.request(PATH, method=RequestType.POST, data=body('4208450740201411110000005001'))[0]
out['results'] = [query(core, '4208450740201411110000005001')[1]['result'] for _ in range(3)]
out['control'] = control('outcomes', {'sub_mchid': '1900000109',
                                      'transaction_id': '4208450740201411110000005002',
                                      'result': 'FAILED', 'fail_reason': 'NO_RELATION'})
core.request(PATH, method=RequestType.POST, data=body('4208450740201411110000005002'))
query(core, '4208450740201411110000005002')
failed = query(core, '4208450740201411110000005002')[1]
out['failed'] = f"{failed['result']}/{failed.get('fail_reason')}"
control('faults', {'kind': 'system_error', 'route': 'create'})
out['injected'] = core.request(PATH, method=RequestType.POST, data=body('4208450740201411110000005003'))[0]
out['wrong_key'] = client(wrong_key_file).request(
    PATH, method=RequestType.POST, data=body('4208450740201411110000005004'))[0]
print(json.dumps(out))

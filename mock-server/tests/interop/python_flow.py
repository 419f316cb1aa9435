"""Interop: the Python SDK wechatpayv3 drives a platform's profit-sharing flow against the
standalone sandbox: a paid order declared, a receiver added, a split with the receiver's name
encrypted, the split queried to final, what is left, a split beyond it refused, a return
queried to final, a return beyond the share refused, the finish, and an after-sales order.
Every 2xx answer is verified by the SDK (core.request raises when a signature does not verify).

argv: base_url mchid serial merchant_key_file public_key_id public_key_file
Prints one JSON object with what each step saw.
"""
import json
import sys
import time

import requests
from wechatpayv3.core import Core
from wechatpayv3.type import RequestType

base_url, mchid, serial, key_file, public_key_id, public_key_file = sys.argv[1:7]

core = Core(mchid=mchid, cert_serial_no=serial, private_key=open(key_file).read(),
            apiv3_key='0' * 32, public_key=open(public_key_file).read(),
            public_key_id=public_key_id)
core._gate_way = base_url  # the SDK has no setting for its host

SUB = '1900000109'
TX = '4208450740201411110000007001'
RECEIVER = '1900000110'
NAME = '示例商户全称有限公司'
PS = '/v3/ecommerce/profitsharing'


def post(path, body, cipher=False):
    code, text = core.request(path, method=RequestType.POST, data=body, cipher_data=cipher)
    return code, json.loads(text) if text else {}


def get(path):
    code, text = core.request(path)
    return code, json.loads(text) if text else {}


def until(query, done, tries=20):
    """The answers of `query` until `done` says one is final."""
    seen = []
    for _ in range(tries):
        code, record = query()
        seen.append(record)
        if code != 200 or done(record):
            break
        time.sleep(0.2)
    return seen


out = {}
declared = requests.post(f'{base_url}/mock/transactions', timeout=10,
                         json={'sub_mchid': SUB, 'transaction_id': TX, 'amount': 10000})
out['declare'] = declared.status_code

out['add_receiver'] = post(f'{PS}/receivers/add', {
    'appid': 'wx8888888888888888', 'type': 'MERCHANT_ID', 'account': RECEIVER,
    'encrypted_name': core.encrypt(NAME), 'relation_type': 'SUPPLIER'}, cipher=True)[0]

code, split = post(f'{PS}/orders', {
    'sub_mchid': SUB, 'transaction_id': TX, 'out_order_no': 'PY1', 'finish': False,
    'receivers': [{'type': 'MERCHANT_ID', 'receiver_account': RECEIVER, 'amount': 3000,
                   'description': 'interop split', 'receiver_name': core.encrypt(NAME)}]},
    cipher=True)
out['split'] = [code, split.get('status')]
seen = until(lambda: get(f'{PS}/orders?sub_mchid={SUB}&transaction_id={TX}&out_order_no=PY1'),
             lambda r: r.get('status') == 'FINISHED')
out['split_statuses'] = [r.get('status') for r in seen]
out['share'] = [seen[-1]['receivers'][0].get('result'), seen[-1]['receivers'][0].get('amount')]
order_id = seen[-1].get('order_id')

out['unsplit'] = get(f'{PS}/orders/{TX}/amounts')[1].get('unsplit_amount')
code, refused = post(f'{PS}/orders', {
    'sub_mchid': SUB, 'transaction_id': TX, 'out_order_no': 'PY2', 'finish': False,
    'receivers': [{'type': 'MERCHANT_ID', 'receiver_account': RECEIVER, 'amount': 7001,
                   'description': 'more than is left'}]})
out['split_beyond'] = [code, refused.get('code')]

code, back = post(f'{PS}/returnorders', {
    'sub_mchid': SUB, 'out_order_no': 'PY1', 'out_return_no': 'RPY1', 'return_mchid': RECEIVER,
    'amount': 1000, 'description': 'interop return'})
out['return'] = [code, back.get('result')]
seen = until(lambda: get(f'{PS}/returnorders?sub_mchid={SUB}&order_id={order_id}&out_return_no=RPY1'),
             lambda r: r.get('result') in ('SUCCESS', 'FAIL'))
out['return_results'] = [r.get('result') for r in seen]
code, refused = post(f'{PS}/returnorders', {
    'sub_mchid': SUB, 'order_id': order_id, 'out_return_no': 'RPY2', 'return_mchid': RECEIVER,
    'amount': 2001, 'description': 'more than the share left'})
out['return_beyond'] = [code, refused.get('code')]

code, finished = post(f'{PS}/finish-order', {
    'sub_mchid': SUB, 'transaction_id': TX, 'out_order_no': 'FPY1', 'description': 'interop finish'})
out['finish'] = [code, finished.get('out_order_no')]
out['unsplit_after_finish'] = get(f'{PS}/orders/{TX}/amounts')[1].get('unsplit_amount')

AS = f'{PS}/after-sales-orders'
out['after_sales'] = post(AS, {
    'sub_mchid': SUB, 'transaction_id': TX, 'amount': 100, 'type': 'SERVICE_FEE_INCOME',
    'scene': 'REFUND_TICKET', 'refund_id': '50000000382019052709732678859'})[0]
seen = until(lambda: get(f'{AS}?sub_mchid={SUB}&transaction_id={TX}'),
             lambda r: r.get('result') in ('SUCCESS', 'FAILED'))
out['after_sales_results'] = [r.get('result') for r in seen]

kept = requests.get(f'{base_url}/mock/transactions', params={'transaction_id': TX}, timeout=10).json()
t = kept['transactions'][0]
out['sandbox'] = {k: t.get(k) for k in ('amount', 'split_amount', 'succeeded_amount',
                                        'returned_amount', 'unsplit_amount', 'finished',
                                        'finish_amount')}
print(json.dumps(out, ensure_ascii=False))

"""Interop: the Python SDK wechatpayv3 receives the sandbox's notifications and encrypts a
receiver's name the sandbox accepts.

argv: base_url mchid serial merchant_key_file public_key_id public_key_file apiv3_key
Prints one JSON object with what each step saw.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests
from wechatpayv3.core import Core
from wechatpayv3.type import RequestType

base_url, mchid, serial, key_file, public_key_id, public_key_file, apiv3_key = sys.argv[1:8]

core = Core(mchid=mchid, cert_serial_no=serial, private_key=open(key_file).read(),
            apiv3_key=apiv3_key, public_key=open(public_key_file).read(),
            public_key_id=public_key_id)
core._gate_way = base_url  # the SDK has no setting for its host
received = []


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        headers = {name: value for name, value in self.headers.items()}
        result = core.callback(headers, body)  # verifies the signature, decrypts the resource
        received.append(result)
        ok = result is not None
        self.send_response(200 if ok else 401)
        self.send_header('Content-Type', 'application/json')
        self.end_headers()
        self.wfile.write(b'{"code":"SUCCESS"}' if ok else b'{"code":"FAIL","message":"unverified"}')

    def log_message(self, *args):
        pass


server = HTTPServer(('127.0.0.1', 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f'http://127.0.0.1:{server.server_address[1]}/notify'

out = {}
resource = {'sp_mchid': mchid, 'sub_mchid': '1900000109',
            'transaction_id': '4208450740201411110000006001', 'order_id': '3008450740201411110000006001',
            'out_order_no': 'P6001', 'receiver': {'type': 'MERCHANT_ID', 'account': '1900000110',
                                                  'amount': 888, 'description': 'interop'},
            'success_time': '2026-11-24T10:34:56+08:00'}
sent = requests.post(f'{base_url}/mock/notifications', json={'url': url, 'resource': resource}, timeout=10)
out['notify'] = sent.status_code
deadline = time.time() + 15
while not received and time.time() < deadline:
    time.sleep(0.05)
out['verified'] = bool(received) and received[0] is not None
out['resource'] = received[0]['resource'] if out['verified'] else None

name = core.encrypt('示例商户全称有限公司')  # RSA-OAEP with the WeChat Pay public key
code, text = core.request('/v3/ecommerce/profitsharing/receivers/add', method=RequestType.POST,
                          data={'appid': 'wx8888888888888888', 'type': 'MERCHANT_ID',
                                'account': '1900000110', 'encrypted_name': name,
                                'relation_type': 'SUPPLIER'}, cipher_data=True)
out['add_receiver'] = code
stored = requests.get(f'{base_url}/mock/receivers', params={'mchid': mchid}, timeout=10).json()
out['stored_name'] = stored['receivers'][0]['name'] if stored.get('receivers') else None
server.shutdown()
print(json.dumps(out, ensure_ascii=False))

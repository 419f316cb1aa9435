#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/TARGET/) from the shared vectors in
core/testdata, in the input format of fuzz/src/lib.rs. Run from anywhere; idempotent."""
import json
import pathlib

here = pathlib.Path(__file__).resolve().parent
testdata = here.parent / 'core' / 'testdata'
vectors = json.loads((testdata / 'vectors.json').read_text())
corpus = here / 'corpus'


def write(target, name, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def head(first, headers):
    return first + '\n' + ''.join(f'{k}: {v}\n' for k, v in headers.items()) + '\n'


for i, r in enumerate(vectors['responses']):
    write('finish_response', f'vector-{i}', head('200', r['headers']) + r['body'])
write('finish_response', 'error-400', head('400', {'Request-ID': 'R'})
      + '{"code":"PARAM_ERROR","message":"m","detail":{"field":"/amount"}}')
write('finish_response', 'html-502', head('502', {}) + '<html>502 Bad Gateway</html>')
c = vectors['certificates']
write('certificates', 'vector', head('200', c['headers']) + c['body'])
write('certificates', 'not-found', head('404', {}) + '{"code":"RESOURCE_NOT_EXISTS","message":"m"}')
for i, r in enumerate(vectors['requests']):
    write('authorization', f'vector-{i}', r['authorization'])
    path = r['url'].split('://', 1)[-1]
    path = path[path.index('/'):] if '/' in path else '/'
    headers = {'Authorization': r['authorization'], 'Accept': 'application/json',
               'User-Agent': 'fuzz', 'Content-Type': 'application/json'}
    write('simulator', f'vector-{i}', head(f"{r['method']} {path}", headers) + r['body'])
write('simulator', 'certificates', head('GET /v3/certificates', {'Accept': '*/*'}))
for f in sorted(testdata.glob('*.pem')):
    write('pem', f.stem, f.read_bytes())
write('error_body', 'json', b'\x90\x01{"code":"SYSTEM_ERROR","message":"m","detail":{"a":[1]}}')
write('error_body', 'html', b'\xf6\x01<html><body>503</body></html>')
control = {
    'outcomes': {'sub_mchid': '1900000109', 'transaction_id': '42', 'result': 'FAILED',
                 'fail_reason': 'NO_RELATION', 'processing_queries': 2},
    'faults': {'kind': 'frequency_limited', 'route': 'create', 'count': 2, 'retry_after': 60},
    'merchants': {'mchid': '1900000200', 'serial': 'AB',
                  'public_key': (testdata / 'merchant_public_key.pem').read_text()},
    'sign-with': {'key': 'public-key'},
    'platform-certificates/retire': {'serial': vectors['config']['platform_certificate_serial']},
}
for path, body in control.items():
    write('control', path.replace('/', '-'), head(f'POST {path}', {}) + json.dumps(body))
write('control', 'log', head('GET log?limit=3', {}))
write('control', 'reset', head('POST reset', {}))
print(f'seed corpora written under {corpus}')

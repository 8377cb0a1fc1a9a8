import { createServer } from 'node:http';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
let mode = '';
let hits = 0;
const srv = createServer((req, res) => {
  hits++;
  req.resume(); req.on('end', () => {
    if (mode === 'hang') return;
    if (mode === 'ceph403') { res.writeHead(403, {'content-type':'application/xml'}); res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message></Message><RequestId>tx1</RequestId></Error>'); return; }
    if (mode === 'ceph404') { res.writeHead(404, {'content-type':'application/xml'}); res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchEntity</Code><RequestId>tx1</RequestId></Error>'); return; }
    if (mode === 'throttle') { res.writeHead(400, {'content-type':'text/xml'}); res.end('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r1</RequestId></ErrorResponse>'); return; }
    if (mode === '500') { res.writeHead(500, {'content-type':'text/xml'}); res.end('<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>x</Message></Error><RequestId>r1</RequestId></ErrorResponse>'); return; }
    res.writeHead(200, {'content-type':'text/xml'}); res.end(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></AssumeRoleResponse>`);
  });
});
await new Promise<void>(r => srv.listen(0, '127.0.0.1', r));
const port = (srv.address() as any).port;
const mk = (ep: string) => new STSClient({ region: 'us-east-1', endpoint: ep, maxAttempts: 2, retryMode: 'standard', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, requestHandler: { connectionTimeout: 300, requestTimeout: 300 } });
const cmd = () => new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::1:role/r', RoleSessionName: 'ss', Policy: '{}' });
for (const m of ['ok', 'ceph403', 'ceph404', 'throttle', '500', 'hang']) {
  mode = m; hits = 0; const t0 = Date.now();
  try { const o = await mk(`http://127.0.0.1:${port}`).send(cmd()); console.log(m, 'OK', o.Credentials); }
  catch (e: any) { console.log(m, { name: e.name, code: e.code, Code: e.Code, msg: e.message, meta: e.$metadata, fault: e.$fault, hits, ms: Date.now() - t0, keys: Object.keys(e) }); }
}
for (const ep of ['http://127.0.0.1:1', 'http://nonexistent.invalid']) {
  const t0 = Date.now();
  try { await mk(ep).send(cmd()); } catch (e: any) { console.log(ep, { name: e.name, code: e.code, ctor: e.constructor.name, errs: e.errors?.map((x: any) => x.code), msg: e.message, meta: e.$metadata, ms: Date.now() - t0 }); }
}
srv.closeAllConnections(); srv.close();

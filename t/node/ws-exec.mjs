// A WebSocket exec client that sends frames as it is told, for the
// gateway's tests of what kubectl never sends (fragments, floods):
//
//   node ws-exec.mjs URL TOKEN PLAN-FILE
//
// PLAN-FILE holds a JSON array of [base64 data, fin] frames sent in order (fin
// false: a fragment; the next one continues the message), or
// {"repeat": n, "frame": [base64, fin]}.  Every message received is
// printed as a JSON line {"channel": n, "data": base64}; the close as
// {"close": code}.

import fs from 'node:fs';
import { WebSocket } from 'ws';

const [, , url, token, plan] = process.argv;
const ws = new WebSocket(url, ['v5.channel.k8s.io'], {
    headers: { Authorization: 'Bearer ' + token },
    rejectUnauthorized: false,
    perMessageDeflate: false,
});

ws.on('open', () => {
    for (const step of JSON.parse(fs.readFileSync(plan))) {
        const frames = Array.isArray(step)
            ? [step] : Array(step.repeat).fill(step.frame);
        for (const [b64, fin] of frames) {
            ws.send(Buffer.from(b64, 'base64'), { binary: true, fin });
        }
    }
});

ws.on('message', (data) => {
    process.stdout.write(JSON.stringify({
        channel: data[0], data: data.subarray(1).toString('base64'),
    }) + '\n');
});

ws.on('close', (code) => {
    process.stdout.write(JSON.stringify({ close: code }) + '\n');
    process.exit(0);
});

ws.on('error', (e) => {
    process.stdout.write(JSON.stringify({ error: e.message }) + '\n');
    process.exit(1);
});

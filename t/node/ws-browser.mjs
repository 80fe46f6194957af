// A WebSocket exec as a browser (the Kubernetes dashboard, Headlamp) opens
// one, for the gateway's tests: no headers of its own, so the token goes
// in the subprotocols, and a base64 channel protocol:
//
//   node ws-browser.mjs URL TOKEN PROTOCOLS [STDIN]
//
// PROTOCOLS is a comma-separated list offered as it is; TOKEN, unless
// "-", is added as base64url.bearer.authorization.k8s.io.<token>.  STDIN
// is typed on channel 0 once the socket opens, after a resize (STDIN
// beginning "RAW:" is sent as that text frame, as it is).  Every
// message is printed as a JSON line {"channel": n, "data": the decoded
// bytes as latin1, "text": the frame as it came}; then {"close": code},
// or {"status": n, "body": ...} when the upgrade is refused.

import { WebSocket } from 'ws';

const [, , url, token, protocols, stdin] = process.argv;
const offered = protocols.split(',');
if (token !== '-') {
    offered.push('base64url.bearer.authorization.k8s.io.'
                 + Buffer.from(token).toString('base64url'));
}

const ws = new WebSocket(url, offered, {
    rejectUnauthorized: false,
    perMessageDeflate: false,
});

function send(channel, text) {
    ws.send(String(channel) + Buffer.from(text, 'latin1').toString('base64'));
}

ws.on('open', () => {
    process.stdout.write(JSON.stringify({ protocol: ws.protocol }) + '\n');
    send(4, '{"Width":80,"Height":24}');
    if (stdin !== undefined && stdin.startsWith('RAW:')) {
        ws.send(stdin.slice(4));
    } else if (stdin !== undefined) {
        send(0, stdin);
    }
});

ws.on('message', (data, isBinary) => {
    const text = data.toString('latin1');
    process.stdout.write(JSON.stringify({
        binary: isBinary, channel: text.charCodeAt(0) - 48,
        data: Buffer.from(text.slice(1), 'base64').toString('latin1'),
        text,
    }) + '\n');
});

ws.on('unexpected-response', (req, res) => {
    let body = '';
    res.on('data', (c) => { body += c; });
    res.on('end', () => {
        process.stdout.write(JSON.stringify({ status: res.statusCode,
                                              body }) + '\n');
        process.exit(0);
    });
});

ws.on('close', (code) => {
    process.stdout.write(JSON.stringify({ close: code }) + '\n');
    process.exit(0);
});

ws.on('error', (e) => {
    process.stdout.write(JSON.stringify({ error: e.message }) + '\n');
    process.exit(1);
});

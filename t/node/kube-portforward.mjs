// A port-forward through @kubernetes/client-node (WebSocket, v4 channels),
// for the gateway's tests:
//
//   node kube-portforward.mjs KUBECONFIG NAMESPACE POD PORT BYTES
//
// Sends BYTES bytes into the tunnel and waits for the pod's answer: its
// greeting and the same bytes back.  Prints "RECEIVED <n>" (the bytes that
// came out of the tunnel) and exits 0; "ERROR <message>" and exits 1 if
// the tunnel could not be opened.

import { Readable, Writable } from 'node:stream';
import { KubeConfig, PortForward } from '@kubernetes/client-node';

const [, , config, ns, pod, port, bytes] = process.argv;
const kc = new KubeConfig();
kc.loadFromFile(config);

const payload = Buffer.alloc(Number(bytes), 'tunnel!\n');
const want = ('pod:' + port + '\n').length + payload.length;
let received = 0;
let ws;

const output = new Writable({
    write(chunk, encoding, done) {
        received += chunk.length;
        if (received >= want) {
            process.stdout.write('RECEIVED ' + received + '\n');
            ws.close(1000);
        }
        done();
    },
});

try {
    ws = await new PortForward(kc).portForward(ns, pod, [Number(port)],
        output, process.stderr, Readable.from([payload]));
    ws.on('close', () => process.exit(received >= want ? 0 : 2));
} catch (e) {
    const body = e.body ?? e.message ?? String(e);
    process.stderr.write('ERROR ' + (typeof body === 'string' ? body
                                     : JSON.stringify(body)) + '\n');
    process.exit(1);
}

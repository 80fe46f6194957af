// A stand-in for the Kubernetes API server, for the gateway's tests: it
// answers what kubectl asks before an exec (discovery, the pod) and
// speaks the real exec/attach protocol after the upgrade: WebSocket with
// v5.channel.k8s.io, v4.channel.k8s.io and the base64 variants, channels
// 0 to 4 and 255, the exit Status on channel 3.  A SPDY upgrade gets its
// 101 and the connection ends (the gateway only decides it).
//
//   node kube-apiserver.mjs PORT CERT KEY LOG
//
// Every request is a JSON line in LOG: what reached the server (its
// Authorization, subprotocols, extensions) and, for an exec, the stdin
// and resizes it read.  The pod's "commands":
//   echo ARGS...      prints ARGS, exits 0
//   exit N            prints to stderr, exits N
//   cat               echoes stdin to stdout until stdin closes
//   split TEXT AT     prints TEXT in two frames, cut at AT
//   yes BYTES         prints BYTES bytes ('y\n'), 32 KiB a frame
//   sh -c SCRIPT      prints "ran: SCRIPT", exits 0
//   sh                a terminal: echoes what is typed, "exit\r" ends it

import fs from 'node:fs';
import https from 'node:https';
import { WebSocketServer } from 'ws';

const [, , port, certFile, keyFile, logFile] = process.argv;
const log = fs.openSync(logFile, 'a');

function note(o) {
    fs.writeSync(log, JSON.stringify(o) + '\n');
}

const resources = {
    pods: 'Pod', 'pods/exec': 'PodExecOptions',
    'pods/attach': 'PodAttachOptions',
    'pods/portforward': 'PodPortForwardOptions', 'pods/log': 'Pod',
    secrets: 'Secret', configmaps: 'ConfigMap', namespaces: 'Namespace',
};

const discovery = {
    '/version': { major: '1', minor: '32', gitVersion: 'v1.32.4' },
    '/api': { kind: 'APIVersions', versions: ['v1'],
              serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0',
                                             serverAddress: '127.0.0.1' }] },
    '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
    '/api/v1': {
        kind: 'APIResourceList', groupVersion: 'v1',
        resources: Object.keys(resources).map((name) => ({
            name, namespaced: name !== 'namespaces',
            singularName: name.includes('/') ? '' : name.replace(/s$/, ''),
            kind: resources[name],
            verbs: name.includes('/') ? ['create', 'get']
                                      : ['get', 'list', 'delete'],
        })),
    },
};

function pod(ns, name) {
    return {
        kind: 'Pod', apiVersion: 'v1',
        metadata: { name, namespace: ns, uid: 'u-' + name },
        spec: { containers: [{ name: 'app', image: 'app:1' },
                             { name: 'sidecar', image: 'side:1' }] },
        status: { phase: 'Running' },
    };
}

function json(res, code, body) {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
}

const server = https.createServer({
    cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile),
}, (req, res) => {
    const url = new URL(req.url, 'https://x');
    note({ method: req.method, path: url.pathname, query: url.search,
           authorization: req.headers.authorization || null,
           upgrade: req.headers.upgrade || null });

    if (discovery[url.pathname]) {
        return json(res, 200, discovery[url.pathname]);
    }

    const m = url.pathname.match(
        /^\/api\/v1\/namespaces\/([^/]+)\/(pods|secrets)(?:\/([^/]+))?$/);
    if (m && m[2] === 'pods' && m[3]) {
        return json(res, 200, pod(m[1], m[3]));
    }
    if (m) {
        return json(res, 200, { kind: 'List', apiVersion: 'v1', items: [] });
    }

    json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure',
                     message: 'not found', reason: 'NotFound', code: 404 });
});

const protocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io',
                   'v4.base64.channel.k8s.io', 'base64.channel.k8s.io',
                   'channel.k8s.io'];

const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => {
        for (const p of protocols) {
            if (offered.has(p)) {
                return p;
            }
        }
        return false;
    },
});

server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url, 'https://x');
    const entry = {
        method: req.method, path: url.pathname, query: url.search,
        command: url.searchParams.getAll('command'),
        authorization: req.headers.authorization || null,
        upgrade: req.headers.upgrade || null,
        protocols: req.headers['sec-websocket-protocol'] || null,
        extensions: req.headers['sec-websocket-extensions'] || null,
    };

    if (/^spdy/i.test(req.headers.upgrade || '')) {
        note({ ...entry, answer: 'spdy' });
        socket.end('HTTP/1.1 101 Switching Protocols\r\n'
                   + 'Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n'
                   + 'X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n');
        return;
    }

    wss.handleUpgrade(req, socket, head, (ws) => {
        note({ ...entry, answer: 'websocket', protocol: ws.protocol });
        if (url.pathname.endsWith('/portforward')) {
            portforward(ws, url);
        } else {
            exec(ws, url, entry);
        }
    });
});


function exec(ws, url, entry) {
    const base64 = ws.protocol.includes('base64');
    const v5 = ws.protocol === 'v5.channel.k8s.io';
    const argv = entry.command.length ? entry.command : ['cat'];
    let done = false, line = '';

    function send(channel, data) {
        const bytes = Buffer.from(data);
        if (base64) {
            ws.send(String.fromCharCode(48 + channel)
                    + bytes.toString('base64'));
        } else {
            ws.send(Buffer.concat([Buffer.from([channel]), bytes]));
        }
    }

    function exit(code) {
        if (done) {
            return;
        }
        done = true;
        const status = code === 0
            ? { metadata: {}, status: 'Success' }
            : { metadata: {}, status: 'Failure',
                message: 'command terminated with non-zero exit code: '
                         + 'exit status ' + code,
                reason: 'NonZeroExitCode',
                details: { causes: [{ reason: 'ExitCode',
                                      message: String(code) }] } };
        send(3, JSON.stringify(status));
        ws.close(1000);
    }

    function stdin(data) {
        note({ path: entry.path, stdin: data.toString('latin1') });
        if (argv[0] === 'cat') {
            send(1, data);
        } else if (argv[0] === 'sh') {
            // a terminal echoes keys; a line ends with CR
            send(1, data);
            line += data.toString('latin1');
            let cr;
            while ((cr = line.indexOf('\r')) >= 0) {
                const typed = line.slice(0, cr);
                line = line.slice(cr + 1);
                send(1, '\r\n');
                if (typed === 'exit') {
                    exit(0);
                    return;
                }
                send(1, 'you typed: ' + typed + '\r\n$ ');
            }
        }
    }

    ws.on('message', (msg, isBinary) => {
        let channel, data;
        if (base64) {
            const s = msg.toString();
            channel = s.charCodeAt(0) - 48;
            data = Buffer.from(s.slice(1), 'base64');
        } else {
            channel = msg[0];
            data = msg.subarray(1);
        }
        if (channel === 0) {
            stdin(data);
        } else if (channel === 4) {
            note({ path: entry.path, resize: data.toString() });
        } else if (channel === 255 && v5 && data[0] === 0) {
            note({ path: entry.path, stdin_closed: true });
            if (argv[0] === 'cat') {
                exit(0);
            }
        }
    });

    ws.on('close', () => {
        done = true;
    });

    switch (argv[0]) {
    case 'echo':
        send(1, argv.slice(1).join(' ') + '\n');
        exit(0);
        break;
    case 'exit':
        send(2, 'exiting ' + argv[1] + '\n');
        exit(Number(argv[1]));
        break;
    case 'split': {
        const text = Buffer.from(argv[1]), at = Number(argv[2]);
        send(1, text.subarray(0, at));
        send(1, text.subarray(at));
        exit(0);
        break;
    }
    case 'yes': {
        let left = Number(argv[1]);
        const chunk = Buffer.alloc(32768, 'y\n');
        const more = () => {
            while (left > 0 && ws.bufferedAmount < 1 << 20) {
                const n = Math.min(left, chunk.length);
                send(1, chunk.subarray(0, n));
                left -= n;
            }
            if (left > 0) {
                setTimeout(more, 1);
            } else {
                exit(0);
            }
        };
        more();
        break;
    }
    case 'sh':
        if (argv[1] !== '-c') {
            send(1, '$ ');
            break;
        }
        send(1, 'ran: ' + argv.slice(2).join(' ') + '\n');
        exit(0);
        break;
    default:
        if (argv[0] !== 'cat') {
            send(2, argv[0] + ': not found\n');
            exit(127);
        }
    }
}

// The WebSocket port-forward (kubelet's portforward/websocket.go): two
// channels a port, data 2i and error 2i+1, each opened by the port as
// two bytes little-endian.  The pod answers "pod:PORT\n", then echoes.
function portforward(ws, url) {
    const ports = url.searchParams.getAll('ports')
        .flatMap((v) => v.split(',')).map(Number);

    function send(channel, data) {
        ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
    }

    ports.forEach((p, i) => {
        const le = Buffer.from([p & 0xff, p >> 8]);
        send(2 * i, le);
        send(2 * i + 1, le);
        send(2 * i, 'pod:' + p + '\n');
    });

    ws.on('message', (msg) => {
        const channel = msg[0];
        if (channel % 2 === 0 && channel / 2 < ports.length) {
            send(channel, msg.subarray(1));
        }
    });
}

server.listen(Number(port), '127.0.0.1', () => {
    note({ listening: Number(port) });
});

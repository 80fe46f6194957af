// An exec through @kubernetes/client-node (the library agents embed), for
// the gateway's tests:
//
//   node kube-exec.mjs KUBECONFIG NAMESPACE POD CONTAINER COMMAND...
//
// The pod's stdout and stderr go to this process's; stdin is this
// process's; the exec's final Status is printed last on stderr as
// "STATUS <json>", or "ERROR <message>" if the exec could not start.

import { KubeConfig, Exec } from '@kubernetes/client-node';

const [, , config, ns, pod, container, ...command] = process.argv;
const kc = new KubeConfig();
kc.loadFromFile(config);

const exec = new Exec(kc);

try {
    const ws = await exec.exec(ns, pod, container, command, process.stdout,
        process.stderr, process.stdin.isTTY ? null : process.stdin, false,
        (status) => {
            process.stderr.write('STATUS ' + JSON.stringify(status) + '\n');
        });
    ws.on('close', () => process.exit(0));
} catch (e) {
    const body = e.body ?? e.message ?? String(e);
    process.stderr.write('ERROR ' + (typeof body === 'string' ? body
                                     : JSON.stringify(body)) + '\n');
    process.exit(1);
}

/**
 * A gateway in a process of its own, for tests that kill it: `node --import tsx gateway.ts
 * <config file>`. Prints `listening <url>` once it serves; the config's `*_env` names are read
 * from this process's environment.
 */
import { loadConfigFile } from '../../../src/config/load.js';
import { createGateway } from '../../../src/server.js';

const [file] = process.argv.slice(2);
if (!file) throw new Error('usage: gateway.ts <config file>');

const gateway = createGateway(loadConfigFile(file), { env: process.env });
const address = await gateway.listen(0, '127.0.0.1');
process.stdout.write(`listening http://127.0.0.1:${address.port}\n`);

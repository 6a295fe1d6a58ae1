import { buildExampleApp } from '../bin/example';
import { cdkJsonApp, nagFindings, synthFindings } from '../test/support/gates';
const app = buildExampleApp(cdkJsonApp());
const f = [...nagFindings(app), ...synthFindings(app)];
console.log(JSON.stringify(f, null, 1).slice(0, 4000));

import { Stack } from 'aws-cdk-lib';
import { InventoryBucket, InventoryQueryLayer } from '../lib';
import { nagFindings, synthFindings, testApp } from '../test/support/gates';
const cpu = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
for (let i = 0; i < 3; i++) {
  const app = testApp();
  const stack = new Stack(app, 'Central', { env: { account: '111122223333', region: 'eu-west-1' } });
  const inv = new InventoryBucket(stack, 'Inv', { sourceAccounts: ['111122223333'] });
  new InventoryQueryLayer(stack, 'Query', { bucket: inv.bucket, prefix: 'inventory', accountIds: ['111122223333'], regions: ['eu-west-1'] });
  let t = cpu(); let w = Date.now();
  app.synth();
  console.log('synth', cpu() - t, Date.now() - w); t = cpu(); w = Date.now();
  nagFindings(app);
  console.log('nag', cpu() - t, Date.now() - w); t = cpu(); w = Date.now();
  synthFindings(app);
  console.log('synthFindings', cpu() - t, Date.now() - w);
}

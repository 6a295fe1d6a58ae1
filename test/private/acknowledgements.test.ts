import { ACKNOWLEDGEMENTS } from '../../lib/private/acknowledgements';

// The one registry of acknowledged cdk-nag and cfn-guard findings (lib/private/acknowledgements.ts): each entry names
// at least one rule and says why, in a sentence rather than a word.
test.each(Object.entries(ACKNOWLEDGEMENTS))('acknowledgement %s names its rules and carries a reason', (_topic, ack) => {
  expect(ack.ids.length).toBeGreaterThan(0);
  expect(ack.reason.length).toBeGreaterThanOrEqual(40);
});

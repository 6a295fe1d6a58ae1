import { IConstruct } from 'constructs';
import { QUOTA_WARNING_PREFIX } from '../../lib/private/quota-guard';

/** The quota guard's warning ids (without the prefix) after every construct's validations ran. */
export function quotaWarnings(root: IConstruct): string[] {
  const all = root.node.findAll();
  for (const c of all) c.node.validate();
  return all.flatMap((c) => c.node.metadata
    .filter((m) => m.type === 'aws:cdk:warning' && String(m.data).includes(`[ack: ${QUOTA_WARNING_PREFIX}`))
    .map((m) => /\[ack: ([^\]]+)\]/.exec(String(m.data))![1].slice(QUOTA_WARNING_PREFIX.length)));
}

import { Annotations, CfnResource, Reference, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { IConstruct } from 'constructs';
import { isStackSetTemplate } from './stack-set-template-marker';
import { fail } from './validate';

/*
 * Systems Manager default quotas per account and Region, from the AWS General Reference, "Systems Manager endpoints
 * and quotas": https://docs.aws.amazon.com/general/latest/gr/ssm.html (Maintenance Windows, Patch Manager, Explorer /
 * Inventory, State Manager). CloudFormation fails the deployment with `ResourceLimitExceededException` beyond them;
 * nothing says so at synth. The quota guard counts the Systems Manager resources of every stack of the App (every
 * L1 of the types below, also ones a user made directly), per account and Region, and warns.
 *
 * Service Quotas codes: as the Service Quotas console lists them under "AWS Systems Manager" (Maintenance Windows
 * L-7727CE5B, Tasks per Maintenance Window L-3D9CCA6E, Targets per Maintenance Window L-B1A84B8B, Patch baselines
 * L-218CDBD4, Patch groups per patch baseline L-F4012070); the others have no code we could confirm.
 */

/** Context key that declares raised quotas: `{ "maintenanceWindows": 100 }`. */
export const RAISED_QUOTAS_CONTEXT = 'cdk-ssm-hybrid-fleet:raisedQuotas';

/** Warning ids are `cdk-ssm-hybrid-fleet:quota-<name>`, e.g. `cdk-ssm-hybrid-fleet:quota-maintenanceWindows`. */
export const QUOTA_WARNING_PREFIX = 'cdk-ssm-hybrid-fleet:quota-';

const GR_URL = 'https://docs.aws.amazon.com/general/latest/gr/ssm.html';

interface Quota {
  /** What is counted, as the General Reference names it. */
  readonly title: string;
  readonly defaultValue: number;
  readonly code?: string;
  /** What to do besides raising the quota. */
  readonly advice: string;
}

/** The quotas the guard checks, by the name used in the context and in the warning id. */
export const QUOTAS = {
  maintenanceWindows: {
    title: 'maintenance windows per account and Region',
    defaultValue: 50,
    code: 'L-7727CE5B',
    advice: 'share one install window between patch groups (`installWindow`), or split the windows over more accounts or Regions',
  },
  tasksPerWindow: {
    title: 'tasks per maintenance window',
    defaultValue: 20,
    code: 'L-3D9CCA6E',
    advice: 'spread the patch groups (each adds an install task, plus its pre- and post-install tasks) over more windows',
  },
  targetsPerWindow: {
    title: 'targets per maintenance window',
    defaultValue: 100,
    code: 'L-B1A84B8B',
    advice: 'spread the targets over more windows',
  },
  patchBaselines: {
    title: 'patch baselines per account and Region',
    defaultValue: 50,
    code: 'L-218CDBD4',
    advice: 'let patch groups share baselines (up to 25 groups each), or split them over more accounts or Regions',
  },
  patchGroupsPerBaseline: {
    title: 'patch groups per patch baseline',
    defaultValue: 25,
    code: 'L-F4012070',
    advice: 'spread the groups over more baselines of the same operating system (same approval rules, another construct)',
  },
  resourceDataSyncs: {
    title: 'resource data syncs per account and Region',
    defaultValue: 5,
    advice: 'one sync per account and Region carries every inventory type to the central bucket: remove the extra syncs',
  },
  associations: {
    title: 'State Manager associations per account and Region',
    defaultValue: 2000,
    advice: 'target several nodes (by tag) with one association, or split the associations over more accounts or Regions',
  },
  associationsPerNode: {
    title: 'State Manager associations targeting one managed node',
    defaultValue: 20,
    advice: 'have fewer associations target the same nodes (e.g. fewer associations on every node)',
  },
} satisfies Record<string, Quota>;

/** The name of a quota the guard checks. */
export type QuotaName = keyof typeof QUOTAS;
const QUOTA_NAMES = Object.keys(QUOTAS) as QuotaName[];

type Limits = Record<QuotaName, number>;

const GUARDED = new WeakSet<Stack>();

/**
 * Installs the quota guard on the stack of `scope` (once per stack); every construct of this library that creates a
 * counted Systems Manager resource calls it from its constructor. At synth (validation, once the tree is final) the
 * guard counts across all stacks of the App that deploy to the same account and Region, and warns on its own stack.
 * Fails at once when the raised-quotas context is malformed.
 */
export function ensureQuotaGuard(scope: IConstruct): void {
  const stack = deployingStack(Stack.of(scope));
  if (GUARDED.has(stack)) return;
  GUARDED.add(stack);
  const limits = readLimits(stack);
  stack.node.addValidation({
    validate: () => {
      checkQuotas(stack, limits);
      return [];
    },
  });
}

/** Default quotas overridden by the raised ones declared in the context (validated). */
function readLimits(stack: Stack): Limits {
  const limits = Object.fromEntries(QUOTA_NAMES.map((n) => [n, QUOTAS[n].defaultValue])) as Limits;
  let raised: unknown = stack.node.tryGetContext(RAISED_QUOTAS_CONTEXT);
  if (raised === undefined) return limits;
  const allowed = QUOTA_NAMES.join(', ');
  if (typeof raised === 'string') {
    // `cdk synth -c key=value` passes a string.
    try {
      raised = JSON.parse(raised);
    } catch {
      fail(stack, `context \`${RAISED_QUOTAS_CONTEXT}\` must be an object (or its JSON) of quota names to raised values, got: '${raised}'`);
    }
  }
  if (typeof raised !== 'object' || raised === null || Array.isArray(raised)) {
    fail(stack, `context \`${RAISED_QUOTAS_CONTEXT}\` must be an object of quota names (${allowed}) to raised values, got: ${JSON.stringify(raised)}`);
  }
  for (const [name, value] of Object.entries(raised as Record<string, unknown>)) {
    if (!(QUOTA_NAMES as string[]).includes(name)) {
      fail(stack, `context \`${RAISED_QUOTAS_CONTEXT}\` names an unknown quota '${name}'; known quotas: ${allowed}`);
    }
    const quota = QUOTAS[name as QuotaName];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < quota.defaultValue) {
      fail(
        stack,
        `context \`${RAISED_QUOTAS_CONTEXT}\`.${name} must be a whole number at least the default quota ${quota.defaultValue} (the value AWS raised it to), got: ${JSON.stringify(value)}`,
      );
    }
    limits[name as QuotaName] = value;
  }
  return limits;
}

// ---------- counting ----------

interface Counted {
  readonly resource: CfnResource;
  /** The top-level stack that deploys it (nested stacks count with their parent). */
  readonly stack: Stack;
}

interface EnvGroup {
  readonly label: string;
  readonly agnostic: boolean;
  readonly byType: Map<string, Counted[]>;
}

const COUNTED_TYPES = [
  ssm.CfnMaintenanceWindow.CFN_RESOURCE_TYPE_NAME,
  ssm.CfnMaintenanceWindowTask.CFN_RESOURCE_TYPE_NAME,
  ssm.CfnMaintenanceWindowTarget.CFN_RESOURCE_TYPE_NAME,
  ssm.CfnPatchBaseline.CFN_RESOURCE_TYPE_NAME,
  ssm.CfnResourceDataSync.CFN_RESOURCE_TYPE_NAME,
  ssm.CfnAssociation.CFN_RESOURCE_TYPE_NAME,
];

function deployingStack(stack: Stack): Stack {
  let s = stack;
  while (s.nestedStackParent) s = s.nestedStackParent;
  return s;
}

function envOf(stack: Stack): { key: string; label: string; agnostic: boolean } {
  // Each stack instance of a StackSet template deploys it alone into its account and Region: counted on its own.
  if (isStackSetTemplate(stack)) {
    const path = stack.node.path;
    return { key: `stackset:${path}`, label: `each account/Region of the StackSet template ${path}`, agnostic: false };
  }
  const account = Token.isUnresolved(stack.account) ? undefined : stack.account;
  const region = Token.isUnresolved(stack.region) ? undefined : stack.region;
  if (account && region) return { key: `${account}/${region}`, label: `account/Region ${account}/${region}`, agnostic: false };
  const key = `${account ?? '(account unknown at synth)'}/${region ?? '(Region unknown at synth)'}`;
  return { key, label: `account/Region ${key}`, agnostic: true };
}

/** Every counted resource of the App, grouped by the account and Region its stack deploys to. */
function countApp(root: IConstruct): Map<string, EnvGroup> {
  const groups = new Map<string, EnvGroup>();
  for (const c of root.node.findAll()) {
    if (!CfnResource.isCfnResource(c) || !COUNTED_TYPES.includes(c.cfnResourceType)) continue;
    const stack = deployingStack(Stack.of(c));
    const env = envOf(stack);
    let group = groups.get(env.key);
    if (!group) {
      group = { label: env.label, agnostic: env.agnostic, byType: new Map() };
      groups.set(env.key, group);
    }
    const list = group.byType.get(c.cfnResourceType) ?? [];
    list.push({ resource: c, stack });
    group.byType.set(c.cfnResourceType, list);
  }
  return groups;
}

function checkQuotas(stack: Stack, limits: Limits): void {
  const group = countApp(stack.node.root).get(envOf(stack).key);
  if (!group) return;
  const of = (type: string): Counted[] => group.byType.get(type) ?? [];
  const where = group.agnostic
    ? `in ${group.label} (stacks without an explicit account and Region are counted together: they may all deploy to one)`
    : `in ${group.label}`;

  accountWide(stack, 'maintenanceWindows', of(ssm.CfnMaintenanceWindow.CFN_RESOURCE_TYPE_NAME), limits, where);
  accountWide(stack, 'patchBaselines', of(ssm.CfnPatchBaseline.CFN_RESOURCE_TYPE_NAME), limits, where);
  accountWide(stack, 'resourceDataSyncs', of(ssm.CfnResourceDataSync.CFN_RESOURCE_TYPE_NAME), limits, where);
  const associations = of(ssm.CfnAssociation.CFN_RESOURCE_TYPE_NAME);
  accountWide(stack, 'associations', associations, limits, where);
  perWindow(stack, 'tasksPerWindow', of(ssm.CfnMaintenanceWindowTask.CFN_RESOURCE_TYPE_NAME), limits);
  perWindow(stack, 'targetsPerWindow', of(ssm.CfnMaintenanceWindowTarget.CFN_RESOURCE_TYPE_NAME), limits);
  perBaseline(stack, of(ssm.CfnPatchBaseline.CFN_RESOURCE_TYPE_NAME), limits);
  perNode(stack, associations, limits, where);
}

function warn(scope: IConstruct, name: QuotaName, counted: string, limits: Limits, extra = ''): void {
  const quota: Quota = QUOTAS[name];
  const limit = limits[name];
  const raised = limit !== quota.defaultValue;
  const code = quota.code ? `, Service Quotas code ${quota.code}` : '';
  const quotaText = raised
    ? `the raised quota of ${limit} you declared (default ${quota.defaultValue}${code})`
    : `the default quota of ${quota.defaultValue}${code}`;
  Annotations.of(scope).addWarningV2(
    `${QUOTA_WARNING_PREFIX}${name}`,
    `Systems Manager quota "${quota.title}": ${counted}, over ${quotaText} (${GR_URL})${extra}. ` +
      `CloudFormation will fail with ResourceLimitExceededException. Either ${quota.advice}, or raise the quota in ` +
      `Service Quotas and declare it in the context \`${RAISED_QUOTAS_CONTEXT}\` ({"${name}": <raised value>}), or ` +
      `acknowledge this warning (Annotations.of(scope).acknowledgeWarning('${QUOTA_WARNING_PREFIX}${name}'))`,
    { context: { quota: name } },
  );
}

/** An account-wide count: warns on the guard's stack when the account/Region total is over and the stack adds to it. */
function accountWide(stack: Stack, name: QuotaName, all: Counted[], limits: Limits, where: string): void {
  if (all.length <= limits[name] || !all.some((c) => c.stack === stack)) return;
  const perStack = new Map<string, number>();
  for (const c of all) perStack.set(c.stack.node.path, (perStack.get(c.stack.node.path) ?? 0) + 1);
  const split = [...perStack].map(([path, n]) => `${path}: ${n}`).join(', ');
  const mine = all.filter((c) => c.stack === stack).map((c) => ownerPath(c.resource));
  const shown = mine.slice(0, 3).join(', ') + (mine.length > 3 ? `, and ${mine.length - 3} more` : '');
  warn(stack, name, `${all.length} ${where} (${split}), plus any the account already has outside this app`, limits, `; in this stack: ${shown}`);
}

/** Tasks or targets per window, by the window their `WindowId` refers to. */
function perWindow(stack: Stack, name: QuotaName, children: Counted[], limits: Limits): void {
  const byWindow = new Map<unknown, { window?: CfnResource; label: string; children: Counted[] }>();
  for (const c of children) {
    const windowId = (c.resource as ssm.CfnMaintenanceWindowTask | ssm.CfnMaintenanceWindowTarget).windowId;
    const { key, window, label } = referencedResource(c.resource, windowId);
    const entry = byWindow.get(key) ?? { window, label, children: [] };
    entry.children.push(c);
    byWindow.set(key, entry);
  }
  for (const { window, label, children: list } of byWindow.values()) {
    if (list.length <= limits[name]) continue;
    // The guard of the window's stack warns on the window; a window elsewhere (unguarded, imported) is reported on
    // every guarded stack that registers children with it.
    const windowStack = window ? deployingStack(Stack.of(window)) : undefined;
    const reportedThere = windowStack !== undefined && GUARDED.has(windowStack);
    if (reportedThere ? windowStack !== stack : !list.some((c) => c.stack === stack)) continue;
    const what = name === 'tasksPerWindow' ? 'tasks' : 'targets';
    const scope = reportedThere ? owner(window!) : stack;
    warn(scope, name, `${list.length} ${what} on the window ${label}`, limits);
  }
}

function perBaseline(stack: Stack, baselines: Counted[], limits: Limits): void {
  for (const b of baselines) {
    if (b.stack !== stack) continue;
    const groups = stack.resolve((b.resource as ssm.CfnPatchBaseline).patchGroups);
    if (!Array.isArray(groups) || groups.length <= limits.patchGroupsPerBaseline) continue;
    warn(owner(b.resource), 'patchGroupsPerBaseline', `${groups.length} patch groups on the baseline ${ownerPath(b.resource)}`, limits);
  }
}

/**
 * Associations that surely reach one node: those on every node (`InstanceIds=*`) plus those on the busiest single tag
 * value (a node with that tag gets all of them). A lower bound: a node with several tags may get more.
 */
function perNode(stack: Stack, associations: Counted[], limits: Limits, where: string): void {
  if (!associations.some((c) => c.stack === stack)) return;
  let everyNode = 0;
  const byTag = new Map<string, number>();
  for (const c of associations) {
    const targets = stack.resolve((c.resource as ssm.CfnAssociation).targets);
    if (!Array.isArray(targets) || targets.length !== 1) continue;
    // The L1 property as the user gave it (camelCase), or PascalCase from an escape hatch or an included template.
    const target = targets[0] as { key?: unknown; values?: unknown; Key?: unknown; Values?: unknown };
    const key = target.key ?? target.Key;
    const values = target.values ?? target.Values;
    if (typeof key !== 'string' || !Array.isArray(values)) continue;
    if (key === 'InstanceIds' && values.includes('*')) {
      everyNode++;
    } else if (key.startsWith('tag:')) {
      for (const v of new Set(values)) {
        if (typeof v === 'string') byTag.set(`${key}=${v}`, (byTag.get(`${key}=${v}`) ?? 0) + 1);
      }
    }
  }
  const [busiest, onTag] = [...byTag].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  const total = everyNode + onTag;
  if (total <= limits.associationsPerNode) return;
  const detail = onTag > 0 ? `${everyNode} on every node plus ${onTag} on ${busiest}` : `${everyNode} on every node`;
  warn(stack, 'associationsPerNode', `at least ${total} associations reach one node ${where} (${detail})`, limits);
}

/** The window a `WindowId` refers to: a reference to a window resource of the App, or a literal / other value. */
function referencedResource(from: CfnResource, value: string): { key: unknown; window?: CfnResource; label: string } {
  const token = Tokenization.reverse(value);
  if (token instanceof Reference && CfnResource.isCfnResource(token.target)) {
    return { key: token.target, window: token.target, label: ownerPath(token.target) };
  }
  const stack = Stack.of(from);
  const resolved = stack.resolve(value);
  if (resolved && typeof resolved === 'object' && typeof resolved.Ref === 'string') {
    const window = stack.node.findAll().find((c) => CfnResource.isCfnResource(c) && stack.resolve(c.logicalId) === resolved.Ref);
    if (window) return { key: window, window: window as CfnResource, label: ownerPath(window as CfnResource) };
  }
  // A literal window id names one window of the account; anything else is only known within its stack.
  if (typeof resolved === 'string') return { key: `id:${resolved}`, label: resolved };
  const text = JSON.stringify(resolved);
  return { key: `${deployingStack(stack).node.path}:${text}`, label: `${text} (in ${deployingStack(stack).node.path})` };
}

/** The construct a user knows: the L2 whose default child the resource is, else the resource. */
function owner(resource: CfnResource): IConstruct {
  const parent = resource.node.scope;
  return parent && parent.node.defaultChild === resource ? parent : resource;
}

function ownerPath(resource: CfnResource): string {
  return owner(resource).node.path;
}

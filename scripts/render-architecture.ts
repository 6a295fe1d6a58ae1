/**
 * Renders the architecture of the example app (bin/example.ts) to `docs/architecture.svg`, offline, for the top of
 * the README: `npm run docs:architecture` (after `npm run bundle`, which the activation API's assets need).
 *
 * Nothing is drawn by hand. The app is built with the context of cdk.json (and `-c env=` placing the boot site in its
 * member account and Region) and synthesized; the picture shows its
 * accounts, their Regions, the stacks in each and the library's constructs in each stack (read from the construct
 * tree: a construct whose class the library exports). The arrows between accounts are derived from the synthesized
 * templates, resolved in each stack's account and Region:
 * - an `AWS::SSM::ResourceDataSync` whose S3 destination names a bucket another stack defines (inventory sync);
 * - an `AWS::Events::Rule` target naming another stack's `AWS::Events::EventBus` (alerts forwarded to a central bus);
 * - an `AWS::Oam::Link` whose sink ARN names the account and Region of another stack's `AWS::Oam::Sink`;
 * - an `AWS::CloudFormation::StackSet` and its targets (organizational units × Regions), drawn as one more box with
 *   the constructs of the stack its template comes from (a stack defined inside the admin stack).
 * No Graphviz: a small deterministic layout and SVG writer, so the example-app gate test can check that the committed
 * picture is what this script produces now.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { BOOT_SITE, buildExampleApp } from '../bin/example';
import * as lib from '../lib';

const ROOT = path.join(__dirname, '..');
export const ARCHITECTURE_SVG = path.join(ROOT, 'docs', 'architecture.svg');

// ---------------------------------------------------------------------------------------------------------------
// The model: accounts → Regions → stacks → constructs, and flows
// ---------------------------------------------------------------------------------------------------------------

interface StackNode {
  readonly id: string;
  readonly title: string;
  readonly account: string;
  readonly region: string;
  readonly constructs: string[];
  readonly resources: number;
}

interface Flow {
  readonly from: string;
  readonly to: string;
  readonly label: string;
}

export interface Architecture {
  readonly stacks: StackNode[];
  readonly flows: Flow[];
}

type Template = { Resources?: Record<string, { Type: string; Properties?: any }>; Mappings?: Record<string, any> };

const AGNOSTIC = 'any account';
const ANY_REGION = 'any Region';

const libraryClasses = new Set<unknown>(Object.values(lib).filter((v) => typeof v === 'function'));
const isLibrary = (c: IConstruct): boolean => libraryClasses.has(c.constructor);

/** The library constructs of a stack, two levels deep (a construct and the library constructs it is made of). */
function stackConstructs(stack: Stack): string[] {
  const lines: string[] = [];
  const visit = (scope: IConstruct, depth: number): void => {
    for (const child of scope.node.children) {
      if (Stack.isStack(child)) continue;
      if (isLibrary(child)) {
        if (depth < 2) lines.push(`${depth === 1 ? '  ' : ''}${child.constructor.name} ${child.node.id}`);
        visit(child, depth + 1);
      } else {
        visit(child, depth);
      }
    }
  };
  visit(stack, 0);
  return lines;
}

/** A template value as a literal string in an account and Region; undefined when it is not known at synth. */
function literal(value: unknown, env: { account: string; region: string }, template: Template): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, any>;
  if (v.Ref === 'AWS::Region') return env.region === ANY_REGION ? undefined : env.region;
  if (v.Ref === 'AWS::AccountId') return env.account === AGNOSTIC ? undefined : env.account;
  if (v.Ref === 'AWS::Partition') return 'aws';
  if (v.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
  if (v['Fn::Join']) {
    const parts = (v['Fn::Join'][1] as unknown[]).map((p) => literal(p, env, template));
    return parts.every((p) => p !== undefined) ? parts.join(v['Fn::Join'][0]) : undefined;
  }
  if (v['Fn::FindInMap']) {
    const [map, first, second] = (v['Fn::FindInMap'] as unknown[]).map((p) => literal(p, env, template));
    return map && first && second ? literal(template.Mappings?.[map]?.[first]?.[second], env, template) : undefined;
  }
  return undefined;
}

const resourcesOf = (template: Template, type: string) => Object.values(template.Resources ?? {}).filter((r) => r.Type === type);

/** The architecture of an app: its stacks (as synthesized) and the flows between them. */
export function architecture(app: App): Architecture {
  const assembly = app.synth();
  const all = app.node.findAll().filter((c): c is Stack => Stack.isStack(c));
  const nodes: StackNode[] = [];
  const templates = new Map<string, Template>();
  for (const stack of all) {
    // A stack defined inside another (a StackSet's template) is written to the assembly but is no stack artifact.
    const artifact = assembly.stacks.find((a) => a.hierarchicalId === stack.artifactId || a.id === stack.artifactId);
    const template = (artifact?.template ?? JSON.parse(readFileSync(path.join(assembly.directory, stack.templateFile), 'utf8'))) as Template;
    templates.set(stack.node.path, template);
    const nested = Stack.isStack(stack.node.scope);
    nodes.push({
      id: stack.node.path,
      title: stack.stackName,
      // A stack defined inside another is a StackSet's template: placed by the StackSet below.
      account: nested ? '' : Token.isUnresolved(stack.account) ? AGNOSTIC : stack.account,
      region: nested ? '' : Token.isUnresolved(stack.region) ? ANY_REGION : stack.region,
      constructs: stackConstructs(stack),
      resources: Object.keys(template.Resources ?? {}).length,
    });
  }
  const placed = nodes.filter((n) => n.account);
  const flows: Flow[] = [];
  const stackSetNodes: StackNode[] = [];
  for (const node of placed) {
    const template = templates.get(node.id)!;
    const env = { account: node.account, region: node.region };
    const find = (type: string, match: (props: any, other: StackNode) => boolean): StackNode | undefined =>
      placed.find((other) => other !== node && resourcesOf(templates.get(other.id)!, type).some((r) => match(r.Properties ?? {}, other)));

    for (const sync of resourcesOf(template, 'AWS::SSM::ResourceDataSync')) {
      const bucket = literal(sync.Properties?.S3Destination?.BucketName, env, template);
      const target = bucket && find('AWS::S3::Bucket', (p, other) => literal(p.BucketName, other, templates.get(other.id)!) === bucket);
      if (target) flows.push({ from: node.id, to: target.id, label: 'inventory' });
    }
    for (const rule of resourcesOf(template, 'AWS::Events::Rule')) {
      for (const t of rule.Properties?.Targets ?? []) {
        const m = /^arn:aws:events:([^:]+):(\d{12}):event-bus\/(.+)$/.exec(literal(t.Arn, env, template) ?? '');
        const target = m && find('AWS::Events::EventBus', (p, other) => other.region === m[1] && other.account === m[2] && literal(p.Name, other, templates.get(other.id)!) === m[3]);
        if (target) flows.push({ from: node.id, to: target.id, label: 'alerts' });
      }
    }
    for (const link of resourcesOf(template, 'AWS::Oam::Link')) {
      const m = /^arn:aws:oam:([^:]+):(\d{12}):sink\//.exec(literal(link.Properties?.SinkIdentifier, env, template) ?? '');
      const target = m && find('AWS::Oam::Sink', (_p, other) => other.region === m[1] && other.account === m[2]);
      if (target) flows.push({ from: node.id, to: target.id, label: 'metrics (OAM)' });
    }
    const templateStacks = nodes.filter((n) => !n.account && n.id.startsWith(`${node.id}/`));
    for (const set of resourcesOf(template, 'AWS::CloudFormation::StackSet')) {
      const p = set.Properties ?? {};
      for (const group of p.StackInstancesGroup ?? []) {
        const ous: string[] = group.DeploymentTargets?.OrganizationalUnitIds ?? [];
        const accounts: string[] = group.DeploymentTargets?.Accounts ?? [];
        const targets = [...ous.map((ou) => `OU ${ou}`), ...accounts.map((a) => `account ${a}`)].join(', ');
        const auto = p.AutoDeployment?.Enabled ? ', new accounts too' : '';
        for (const region of group.Regions ?? []) {
          const id = `${node.id}#${literal(p.StackSetName, env, template) ?? 'StackSet'}#${targets}#${region}`;
          stackSetNodes.push({
            id,
            title: `StackSet ${literal(p.StackSetName, env, template) ?? ''}`.trim(),
            account: `${targets}${auto}`,
            region,
            constructs: templateStacks.flatMap((t) => t.constructs),
            resources: templateStacks.reduce((sum, t) => sum + t.resources, 0),
          });
          flows.push({ from: node.id, to: id, label: `StackSet (${p.PermissionModel === 'SERVICE_MANAGED' ? 'service-managed' : 'self-managed'})` });
        }
      }
    }
  }
  // One arrow per source and target, naming every kind of flow between them once.
  const merged: Flow[] = [];
  for (const f of flows) {
    const same = merged.findIndex((m) => m.from === f.from && m.to === f.to);
    if (same < 0) merged.push(f);
    else if (!merged[same].label.split(' + ').includes(f.label)) merged[same] = { ...merged[same], label: `${merged[same].label} + ${f.label}` };
  }
  return { stacks: [...placed, ...stackSetNodes], flows: merged };
}

// ---------------------------------------------------------------------------------------------------------------
// Layout and SVG
// ---------------------------------------------------------------------------------------------------------------

const STACK_W = 300;
/** About the width of a character of the 11-px font, to cut lines that would leave their box. */
const CHAR_W = 6.2;
const LINE = 14;
const PAD = 12;
const GAP = 16;
const ROW_GAP = 110;

const esc = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const text = (x: number, y: number, content: string, cls: string, anchor = 'start'): string =>
  `<text x="${x}" y="${y}" class="${cls}"${anchor === 'start' ? '' : ` text-anchor="${anchor}"`} xml:space="preserve">${esc(content)}</text>`;

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const fit = (line: string, width: number): string => {
  const room = Math.floor(width / CHAR_W);
  return line.length > room ? `${line.slice(0, room - 1)}…` : line;
};

const stackHeight = (s: StackNode): number => 2 * LINE + 10 + Math.max(1, s.constructs.length) * LINE + PAD;

interface AccountLayout {
  readonly account: string;
  readonly regions: { region: string; stacks: StackNode[] }[];
}

function groupAccounts(stacks: StackNode[]): AccountLayout[] {
  const accounts: AccountLayout[] = [];
  for (const s of stacks) {
    let a = accounts.find((x) => x.account === s.account);
    if (!a) accounts.push((a = { account: s.account, regions: [] }));
    let r = a.regions.find((x) => x.region === s.region);
    if (!r) a.regions.push((r = { region: s.region, stacks: [] }));
    r.stacks.push(s);
  }
  for (const a of accounts) a.regions.sort((x, y) => x.region.localeCompare(y.region));
  return accounts;
}

/** The SVG of an architecture: accounts that receive flows on top, the others below, arrows between them. */
export function renderArchitectureSvg(arch: Architecture = architecture(buildExampleApp(exampleApp()))): string {
  const accountOf = (id: string): string => arch.stacks.find((s) => s.id === id)!.account;
  // Accounts that other accounts' stacks send to (not a StackSet's targets) are central: drawn on top.
  const receiving = new Set(arch.flows.filter((f) => !f.to.includes('#') && accountOf(f.from) !== accountOf(f.to)).map((f) => accountOf(f.to)));
  const central = (a: string): boolean => receiving.has(a);
  const accounts = groupAccounts(arch.stacks);
  const rows = [accounts.filter((a) => central(a.account)), accounts.filter((a) => !central(a.account))].filter((r) => r.length > 0);

  const boxes = new Map<string, Box>();
  const parts: string[] = [];
  let y = 52;
  let width = 0;
  const rowStarts: { index: number; boxIds: string[]; width: number }[] = [];
  for (const row of rows) {
    let x = 16;
    const index = parts.length;
    let rowH = 0;
    for (const account of row) {
      const ax = x;
      let rx = ax + PAD;
      let accountH = 0;
      const regionParts: string[] = [];
      for (const region of account.regions) {
        let sy = y + 2 * LINE + 8 + 2 * LINE + 4;
        for (const s of region.stacks) {
          const h = stackHeight(s);
          boxes.set(s.id, { x: rx + PAD, y: sy, w: STACK_W, h });
          sy += h + GAP;
        }
        const regionH = sy - (y + 2 * LINE + 8);
        regionParts.push(`<rect x="${rx}" y="${y + 2 * LINE + 8}" width="${STACK_W + 2 * PAD}" height="${regionH}" rx="6" class="region"/>`);
        regionParts.push(text(rx + PAD, y + 2 * LINE + 8 + LINE + 4, region.region, 'region-title'));
        accountH = Math.max(accountH, regionH);
        rx += STACK_W + 2 * PAD + GAP;
      }
      const w = rx - GAP + PAD - ax;
      const h = accountH + 2 * LINE + 8 + PAD;
      const stackSet = account.regions.some((r) => r.stacks.some((s) => s.id.includes('#')));
      const label = stackSet ? account.account : account.account === AGNOSTIC ? 'any account: the CLI\'s, or -c env='
        : `${central(account.account) ? 'central account' : 'member account'} ${account.account}`;
      parts.push(`<rect x="${ax}" y="${y}" width="${w}" height="${h}" rx="8" class="${stackSet ? 'ou' : 'account'}"/>`);
      parts.push(text(ax + PAD, y + LINE + 6, label, 'account-title'));
      parts.push(...regionParts);
      x += w + 2 * GAP;
      rowH = Math.max(rowH, h);
    }
    width = Math.max(width, x);
    rowStarts.push({ index, boxIds: row.flatMap((a) => a.regions.flatMap((r) => r.stacks.map((st) => st.id))), width: x });
    y += rowH + ROW_GAP;
  }
  const height = y - ROW_GAP + 16;
  // Each row centred: its parts in a shifted group, its stack boxes shifted alike (the arrows are drawn after).
  for (const [k, row] of [...rowStarts.entries()].reverse()) {
    const dx = Math.round((width - row.width) / 2);
    const end = k + 1 < rowStarts.length ? rowStarts[k + 1].index : parts.length;
    parts.splice(row.index, end - row.index, `<g transform="translate(${dx},0)">`, ...parts.slice(row.index, end), '</g>');
    for (const id of row.boxIds) boxes.get(id)!.x += dx;
  }

  for (const s of arch.stacks) {
    const b = boxes.get(s.id)!;
    parts.push(`<rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="4" class="stack"/>`);
    parts.push(text(b.x + 8, b.y + LINE + 2, fit(s.title, b.w - 16), 'stack-title'));
    parts.push(text(b.x + 8, b.y + 2 * LINE + 4, `${s.resources} resources`, 'note'));
    s.constructs.forEach((c, i) => parts.push(text(b.x + 8, b.y + 2 * LINE + 10 + (i + 1) * LINE, fit(c, b.w - 16), c.startsWith(' ') ? 'inner' : 'construct')));
    if (s.constructs.length === 0) parts.push(text(b.x + 8, b.y + 3 * LINE + 10, '(aws-cdk-lib constructs only)', 'note'));
  }

  // Arrows: from the edge of the source stack facing the target to the target's facing edge; ends spread along it.
  const ends = new Map<string, number>();
  const count = new Map<string, number>();
  for (const f of arch.flows) count.set(f.to, (count.get(f.to) ?? 0) + 1);
  // Ends taken left to right in the order of the sources, so that arrows into one box do not cross.
  const labels: string[] = [];
  const bySource = [...arch.flows].sort((f, g) => boxes.get(f.from)!.x - boxes.get(g.from)!.x);
  const starts = new Map<string, number>();
  const outgoing = new Map<string, number>();
  for (const f of arch.flows) outgoing.set(f.from, (outgoing.get(f.from) ?? 0) + 1);
  for (const f of bySource) {
    const a = boxes.get(f.from)!;
    const b = boxes.get(f.to)!;
    const k = ends.get(f.to) ?? 0;
    ends.set(f.to, k + 1);
    const j = starts.get(f.from) ?? 0;
    starts.set(f.from, j + 1);
    const down = b.y > a.y + a.h;
    const x1 = a.x + (a.w * (j + 1)) / (outgoing.get(f.from)! + 1);
    const y1 = down ? a.y + a.h : a.y;
    const x2 = b.x + (b.w * (k + 1)) / (count.get(f.to)! + 1);
    const y2 = down ? b.y : b.y + b.h;
    const bend = (y2 - y1) / 2;
    parts.push(`<path d="M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}" class="flow" marker-end="url(#arrow)"/>`);
    labels.push(text(x1 + 4, y1 + (down ? 14 + 12 * j : -6 - 12 * j), f.label, 'flow-label'));
  }

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
      + '<path d="M0,0 L10,5 L0,10 z" fill="#d45b07"/></marker></defs>',
    '<style>.title{font-size:15px;font-weight:bold;fill:#16191f}.account{fill:#f2f8fd;stroke:#0972d3;stroke-width:1.5}'
      + '.ou{fill:#fdf6ec;stroke:#d45b07;stroke-width:1.5;stroke-dasharray:6 4}.region{fill:#fff;stroke:#879596;stroke-dasharray:4 3}'
      + '.stack{fill:#fafafa;stroke:#545b64}.account-title{font-size:13px;font-weight:bold;fill:#0b3d6e}.region-title{font-size:12px;fill:#545b64}'
      + '.stack-title{font-size:12px;font-weight:bold;fill:#16191f}.construct{font-size:11px;fill:#16191f}.inner{font-size:10px;fill:#545b64}'
      + '.note{font-size:10px;fill:#879596}.flow{fill:none;stroke:#d45b07;stroke-width:1.5}.flow-label{font-size:10px;fill:#d45b07}</style>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    text(16, 30, 'Example app (bin/example.ts): accounts, Regions, stacks and the library\'s constructs; arrows from the synthesized templates', 'title'),
    ...parts,
    ...labels,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * The App `npm run synth -- -c env=<boot site>` builds (the context of cdk.json, the boot site placed in its member
 * account and Region), in a scratch output directory.
 */
function exampleApp(): App {
  const context = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
  return new App({ context: { ...context, env: `${BOOT_SITE.account}/${BOOT_SITE.region}` } });
}

if (require.main === module) {
  writeFileSync(ARCHITECTURE_SVG, renderArchitectureSvg());
  process.stdout.write(`wrote ${path.relative(process.cwd(), ARCHITECTURE_SVG)}\n`);
}

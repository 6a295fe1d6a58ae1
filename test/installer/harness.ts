/**
 * Harness of the installer script tests: a sandbox with a fake `aws` CLI (Parameter Store, versioned S3 objects,
 * PutComplianceItems), fake package managers (`rpm`, `dpkg`, `dpkg-query`), a fake `systemctl` and `uname` on PATH,
 * and a runner for the real step script (documents/installer/install-agent.sh) under bash. Packages are small text
 * files the fake package managers understand; their bytes are what the script hashes and signs.
 */
import { execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const LINUX_SCRIPT = path.join(__dirname, '..', '..', 'documents', 'installer', 'install-agent.sh');
export const WINDOWS_SCRIPT = path.join(__dirname, '..', '..', 'documents', 'installer', 'install-agent.ps1');

export const NODE_ID = 'mi-0123456789abcdef0';
export const REGION = 'eu-west-1';
export const BUCKET = 'agent-packages-111122223333';

/** The fake commands (test/installer/fakes/), copied onto the sandbox's PATH. */
const FAKES_DIR = path.join(__dirname, 'fakes');

export interface Sandbox {
  readonly dir: string;
  readonly state: string;
  readonly bin: string;
}

const sandboxes: string[] = [];

export function makeSandbox(): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'installer-test-'));
  sandboxes.push(dir);
  const bin = path.join(dir, 'bin');
  const state = path.join(dir, 'state');
  for (const d of [bin, state, path.join(state, 'params'), path.join(state, 's3'), path.join(dir, 'tmp')]) fs.mkdirSync(d, { recursive: true });
  for (const name of fs.readdirSync(FAKES_DIR)) fs.copyFileSync(path.join(FAKES_DIR, name), path.join(bin, name));
  return { dir, state, bin };
}

export function cleanUp(): void {
  for (const dir of sandboxes.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export function putParameter(sb: Sandbox, name: string, value: string): void {
  fs.writeFileSync(path.join(sb.state, 'params', name.replace(/\//g, '%2F')), value);
}

export function denyParameter(sb: Sandbox, name: string): void {
  fs.appendFileSync(path.join(sb.state, 'denied'), `${name}\n`);
}

export function putObject(sb: Sandbox, key: string, version: string, content: Buffer | string): void {
  const dir = path.join(sb.state, 's3', BUCKET);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${key.replace(/\//g, '%2F')}@${version}`), content);
}

export interface FakePackageOptions {
  readonly name?: string;
  readonly version: string;
  readonly service?: string;
  /** Whether the service starts after the install (default yes). */
  readonly starts?: boolean;
  /** Exit status of a failing install scriptlet. */
  readonly installExit?: number;
}

/** A package file the fake rpm/dpkg install. */
export function fakePackage(options: FakePackageOptions): Buffer {
  return Buffer.from([
    '#fake-package',
    `name=${options.name ?? 'securityagent'}`,
    `version=${options.version}`,
    `service=${options.service ?? 'securityagentd'}`,
    `starts=${options.starts === false ? 'no' : 'yes'}`,
    ...(options.installExit ? [`install_exit=${options.installExit}`] : []),
    '',
  ].join('\n'));
}

export const sha256 = (content: Buffer | string): string => crypto.createHash('sha256').update(content).digest('hex');

/** Marks a fake package as installed with its service running (a node where the agent already is). */
export function preinstall(sb: Sandbox, version: string, service = 'securityagentd', name = 'securityagent'): void {
  fs.mkdirSync(path.join(sb.state, 'db'), { recursive: true });
  fs.mkdirSync(path.join(sb.state, 'services'), { recursive: true });
  fs.writeFileSync(path.join(sb.state, 'db', name), version);
  fs.writeFileSync(path.join(sb.state, 'services', `${service}.unit`), 'yes\n');
  fs.writeFileSync(path.join(sb.state, 'services', service), 'active\n');
}

export function installedVersion(sb: Sandbox, name = 'securityagent'): string | undefined {
  const file = path.join(sb.state, 'db', name);
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
}

export function readLog(sb: Sandbox, name: 'aws.log' | 'pm.log'): string[] {
  const file = path.join(sb.state, name);
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
}

export interface ComplianceCall {
  resourceId: string;
  resourceType: string;
  complianceType: string;
  summary: { ExecutionTime: string; ExecutionType: string };
  items: { Id: string; Title: string; Severity: string; Status: string; Details: Record<string, string> }[];
}

export function complianceCalls(sb: Sandbox): ComplianceCall[] {
  const file = path.join(sb.state, 'compliance.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as ComplianceCall);
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a bash script file (the step script, or one assembled from a document) in the sandbox. */
export function run(sb: Sandbox, env: Record<string, string>, script = LINUX_SCRIPT): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], {
      env: {
        PATH: `${sb.bin}:/usr/local/bin:/usr/bin:/bin`,
        HOME: sb.dir,
        TMPDIR: path.join(sb.dir, 'tmp'),
        FAKE_STATE: sb.state,
        AWS_SSM_INSTANCE_ID: NODE_ID,
        AWS_SSM_REGION_NAME: REGION,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A throwaway GnuPG home with one signing key; `sign` makes a detached binary signature. */
export class GpgSigner {
  public readonly home: string;
  public readonly publicKey: Buffer;

  constructor(uid: string) {
    this.home = fs.mkdtempSync(path.join(os.tmpdir(), 'installer-gpg-'));
    this.gpg(['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
    this.publicKey = this.gpg(['--armor', '--export']);
  }

  public sign(content: Buffer): Buffer {
    const file = path.join(this.home, 'to-sign');
    fs.writeFileSync(file, content);
    this.gpg(['--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', '--detach-sign', '--output', `${file}.sig`, file]);
    return fs.readFileSync(`${file}.sig`);
  }

  /** Stops the gpg-agent that key generation started and removes the home. */
  public close(): void {
    try {
      execFileSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: this.home }, stdio: 'ignore' });
    } catch {
      // no agent running
    }
    fs.rmSync(this.home, { recursive: true, force: true });
  }

  private gpg(args: string[]): Buffer {
    return execFileSync('gpg', args, { env: { ...process.env, GNUPGHOME: this.home }, stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

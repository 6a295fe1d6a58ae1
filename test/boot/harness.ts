/**
 * Shared harness of the boot-script tests: a loopback fake activation API (which also plays IMDSv2 and the
 * tag-node endpoint), a sandbox with a fake amazon-ssm-agent and systemctl on PATH (and, on demand, a curl that
 * behaves like curl 7.61 and a fake credential process), a runner for the real Linux script, and an
 * independent SigV4 verifier.
 */
import { execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { BootScriptPlatform } from '../../lib/activation/boot-script';
import { BootScriptAuth, bootScriptPath, renderBootScript } from '../../lib/activation/private/render-boot-script';

export const LINUX_SCRIPT = bootScriptPath(BootScriptPlatform.LINUX);
export const WINDOWS_SCRIPT = bootScriptPath(BootScriptPlatform.WINDOWS);

export const ACTIVATION_ID = '5743558d-563b-4457-8682-d16c3EXAMPLE';
export const ACTIVATION_CODE = 'dRmgnYaFv567vEXAMPLE';
export const ACTIVATION_REGION = 'eu-central-1';
export const API_KEY = 'k3y-Th4t-Must-N0t-Leak';
export const INSTANCE_ID = 'i-0123456789abcdef0';
export const IMDS_TOKEN = 'imds-token-AQAEAEXAMPLE==';
export const ROLE_NAME = 'hybrid-node-role';
export const AKID = 'ASIAEXAMPLEAKID12345';
export const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
export const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE+session/token==';
export const MANAGED_ID = 'mi-0123456789abcdef0';

export const FAST_RETRIES = { ACTIVATION_MAX_ATTEMPTS: '4', ACTIVATION_RETRY_BASE_SECONDS: '0.05' };

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface ScriptedResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface FakeServer {
  /** Base URL of the fake API stage, with a trailing slash like `RestApi.url`. */
  apiUrl: string;
  /** Origin, used as IMDS_ENDPOINT. */
  origin: string;
  /** Requests to the activation API (POST /activations). */
  apiRequests: RecordedRequest[];
  /** Requests to the tag-node endpoint (PUT /instances/{id}/tags). */
  tagRequests: RecordedRequest[];
  /** Requests to the fake IMDS. */
  imdsRequests: RecordedRequest[];
  close(): Promise<void>;
}

export function success(overrides: Record<string, string> = {}): ScriptedResponse {
  return {
    status: 201,
    body: {
      activationId: ACTIVATION_ID,
      activationCode: ACTIVATION_CODE,
      region: ACTIVATION_REGION,
      instanceName: 'web-01',
      expiresAt: '2030-01-01T00:00:00.000Z',
      ...overrides,
    },
    headers: { 'Cache-Control': 'no-store' },
  };
}

export interface ServerOptions {
  /** Region IMDS reports (404 when unset). */
  region?: string;
  /** Answers of `PUT /prod/instances/{id}/tags`, in order (the last one repeats); default: 200 echoing the tags. */
  tagResponses?: ScriptedResponse[];
}

/**
 * Starts a loopback server: `POST /prod/activations` answers the scripted responses in order (the last one
 * repeats), `PUT /prod/instances/{id}/tags` likewise the tag responses, `/latest/...` plays IMDSv2.
 */
export async function startServer(responses: ScriptedResponse[], imds: ServerOptions = {}): Promise<FakeServer> {
  const apiRequests: RecordedRequest[] = [];
  const tagRequests: RecordedRequest[] = [];
  const imdsRequests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      const send = (status: number, body: string, headers: Record<string, string> = {}) => {
        res.writeHead(status, headers);
        res.end(body);
      };
      if (rec.url.startsWith('/latest/')) {
        imdsRequests.push(rec);
        if (rec.url === '/latest/api/token') {
          if (rec.method !== 'PUT' || !rec.headers['x-aws-ec2-metadata-token-ttl-seconds']) return send(400, '');
          return send(200, IMDS_TOKEN);
        }
        if (rec.headers['x-aws-ec2-metadata-token'] !== IMDS_TOKEN) return send(401, '');
        switch (rec.url) {
          case '/latest/meta-data/instance-id':
            return send(200, INSTANCE_ID);
          case '/latest/meta-data/iam/security-credentials/':
            return send(200, ROLE_NAME);
          case `/latest/meta-data/iam/security-credentials/${ROLE_NAME}`:
            return send(200, JSON.stringify({
              Code: 'Success',
              LastUpdated: '2030-01-01T00:00:00Z',
              Type: 'AWS-HMAC',
              AccessKeyId: AKID,
              SecretAccessKey: SECRET_KEY,
              Token: SESSION_TOKEN,
              Expiration: '2030-01-01T06:00:00Z',
            }, null, 2));
          case '/latest/meta-data/placement/region':
            return imds.region ? send(200, imds.region) : send(404, '');
          default:
            return send(404, '');
        }
      }
      if (rec.method === 'POST' && rec.url === '/prod/activations') {
        apiRequests.push(rec);
        const r = responses[Math.min(apiRequests.length - 1, responses.length - 1)];
        const body = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
        return send(r.status, body, { 'Content-Type': 'application/json', ...r.headers });
      }
      const tagPath = /^\/prod\/instances\/([^/?]+)\/tags$/.exec(rec.url);
      if (rec.method === 'PUT' && tagPath) {
        tagRequests.push(rec);
        const scripted = imds.tagResponses ?? [];
        if (scripted.length === 0) {
          let tags: unknown = {};
          try { tags = JSON.parse(rec.body).tags; } catch { return send(400, JSON.stringify({ message: 'body is not JSON' })); }
          return send(200, JSON.stringify({ instanceId: decodeURIComponent(tagPath[1]), tags }), { 'Content-Type': 'application/json' });
        }
        const r = scripted[Math.min(tagRequests.length - 1, scripted.length - 1)];
        const body = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
        return send(r.status, body, { 'Content-Type': 'application/json', ...r.headers });
      }
      return send(404, JSON.stringify({ message: 'not found' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    apiUrl: `${origin}/prod/`,
    origin,
    apiRequests,
    tagRequests,
    imdsRequests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port with nothing listening on it. */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Sandbox {
  dir: string;
  bin: string;
  /** Lines `systemctl <args>` / `amazon-ssm-agent <args>`, in call order. */
  calls(): string[];
  /** Lines `systemctl <args> umask=<octal>`, in call order. */
  umasks(): string[];
  /** argv of the fake agent, one element per arg, or undefined when it never ran. */
  agentArgs(): string[] | undefined;
  /** The agent's registration file (SSM_REGISTRATION_FILE of every run unless a test overrides it). */
  registrationFile: string;
  /** Writes a script rendered like the construct does (or the unrendered one) and returns its path. */
  script(apiUrl?: string, auth?: BootScriptAuth): string;
}

let sandboxes: string[] = [];
let servers: FakeServer[] = [];

export function makeSandbox(): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'register-node-test-'));
  sandboxes.push(dir);
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const callsFile = path.join(dir, 'calls.log');
  const argsFile = path.join(dir, 'agent.args');
  const umaskFile = path.join(dir, 'umask.log');
  // The fake agent echoes its whole command line (activation code included) to prove the script masks it.
  // Like the real one, a successful -register writes the registration file (unless FAKE_AGENT_NO_REGISTRATION_FILE).
  fs.writeFileSync(path.join(bin, 'amazon-ssm-agent'), [
    '#!/bin/sh',
    `printf '%s\\n' "$@" > '${argsFile}'`,
    `echo "amazon-ssm-agent $*" >> '${callsFile}'`,
    'echo "fake agent: registering with $*"',
    'if [ "${FAKE_AGENT_EXIT:-0}" = 0 ] && [ -z "${FAKE_AGENT_NO_REGISTRATION_FILE:-}" ] && [ -n "${SSM_REGISTRATION_FILE:-}" ]; then',
    '  region=""; prev=""',
    '  for a in "$@"; do if [ "$prev" = -region ]; then region=$a; fi; prev=$a; done',
    `  printf '{"ManagedInstanceID":"%s","Region":"%s"}' "\${FAKE_MANAGED_INSTANCE_ID:-${MANAGED_ID}}" "$region" > "$SSM_REGISTRATION_FILE"`,
    'fi',
    'exit "${FAKE_AGENT_EXIT:-0}"',
    '',
  ].join('\n'), { mode: 0o755 });
  // The fake systemctl also records the umask it was started with (a SysV `service` start would pass it on).
  fs.writeFileSync(path.join(bin, 'systemctl'), [
    '#!/bin/sh',
    `echo "systemctl $*" >> '${callsFile}'`,
    `echo "systemctl $* umask=$(umask)" >> '${umaskFile}'`,
    'exit 0',
    '',
  ].join('\n'), { mode: 0o755 });
  return {
    dir,
    bin,
    calls: () => (fs.existsSync(callsFile) ? fs.readFileSync(callsFile, 'utf8').trim().split('\n') : []),
    umasks: () => (fs.existsSync(umaskFile) ? fs.readFileSync(umaskFile, 'utf8').trim().split('\n') : []),
    agentArgs: () => (fs.existsSync(argsFile) ? fs.readFileSync(argsFile, 'utf8').replace(/\n$/, '').split('\n') : undefined),
    registrationFile: path.join(dir, 'registration'),
    script: (apiUrl?: string, auth?: BootScriptAuth) => {
      const target = path.join(dir, 'register-node.sh');
      const text = apiUrl === undefined
        ? fs.readFileSync(LINUX_SCRIPT, 'utf8')
        : renderBootScript(BootScriptPlatform.LINUX, apiUrl, auth ?? BootScriptAuth.API_KEY);
      fs.writeFileSync(target, text, { mode: 0o755 });
      return target;
    },
  };
}

export async function server(responses: ScriptedResponse[], imds: ServerOptions = {}): Promise<FakeServer> {
  const s = await startServer(responses, imds);
  servers.push(s);
  return s;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  /** umask the script is started with (octal, e.g. '0027'); default: this process's. */
  readonly umask?: string;
}

export function run(sb: Sandbox, script: string, args: string[], env: Record<string, string> = {}, opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const argv = opts.umask === undefined
    ? [script, ...args]
    : ['-c', `umask ${opts.umask} && exec bash "$0" "$@"`, script, ...args];
  return new Promise((resolve, reject) => {
    // A clean environment: nothing ACTIVATION_* or proxy-related leaks in from the developer's shell, and the
    // agent's registration file is the sandbox's, never the machine's.
    const child = spawn('bash', argv, {
      env: {
        PATH: `${sb.bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        HOME: sb.dir,
        TMPDIR: sb.dir,
        LANG: 'C',
        SSM_REGISTRATION_FILE: sb.registrationFile,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

export function expectNoSecrets(r: RunResult) {
  for (const secret of [ACTIVATION_CODE, API_KEY, SECRET_KEY, SESSION_TOKEN]) {
    expect(r.stdout).not.toContain(secret);
    expect(r.stderr).not.toContain(secret);
  }
}

export function expectRegistered(sb: Sandbox, region = ACTIVATION_REGION) {
  expect(sb.agentArgs()).toEqual(['-register', '-code', ACTIVATION_CODE, '-id', ACTIVATION_ID, '-region', region, '-y']);
  expect(sb.calls()).toEqual([
    'systemctl stop amazon-ssm-agent',
    expect.stringMatching(/^amazon-ssm-agent -register /),
    'systemctl start amazon-ssm-agent',
  ]);
}

/** Recomputes the SigV4 signature of a signed request the server received (signed by curl or by the script). */
export function sigV4Signature(req: RecordedRequest, region: string, date: string, secretKey = SECRET_KEY): string {
  const auth = String(req.headers.authorization);
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)![1].split(';');
  const amzDate = String(req.headers['x-amz-date']);
  const sha256 = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');
  const hmac = (key: Buffer | string, s: string) => crypto.createHmac('sha256', key).update(s, 'utf8').digest();
  const canonicalRequest = [
    req.method,
    req.url.split('?')[0],
    '',
    ...signedHeaders.map((h) => `${h}:${String(req.headers[h]).trim().replace(/\s+/g, ' ')}`),
    '',
    signedHeaders.join(';'),
    sha256(req.body),
  ].join('\n');
  const scope = `${date}/${region}/execute-api/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${secretKey}`, date);
  const kSigning = hmac(hmac(hmac(kDate, region), 'execute-api'), 'aws4_request');
  return crypto.createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
}

/** Closes the servers and removes the sandboxes of the test that just ran (call from afterEach). */
export async function cleanUp(): Promise<void> {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  for (const dir of sandboxes) fs.rmSync(dir, { recursive: true, force: true });
  sandboxes = [];
}

/** The machine's own curl, which the old-curl shim hands the (filtered) request to. */
const REAL_CURL = execFileSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).trim();

/**
 * Puts a `curl` first on the sandbox's PATH that behaves like a curl without `--aws-sigv4` (RHEL/Alma/Rocky 8
 * ship 7.61.1): `--version` reports `version`; `--aws-sigv4` on the command line or in a `-K` config only earns
 * a warning on stderr and is dropped, and the request goes on, exactly as an old curl treats an unknown option
 * in a config file (the worst case: `user` then goes out as HTTP Basic auth). The rest is the real curl.
 */
export function installOldCurl(sb: Sandbox, version = '7.61.1'): void {
  fs.writeFileSync(path.join(sb.bin, 'curl'), [
    '#!/bin/bash',
    'if [ "${1:-}" = --version ]; then',
    `  echo 'curl ${version} (x86_64-redhat-linux-gnu) libcurl/${version} OpenSSL/1.1.1k zlib/1.2.11 nghttp2/1.33.0'`,
    "  echo 'Release-Date: 2018-09-05'",
    "  echo 'Protocols: dict file ftp ftps gopher http https imap imaps ldap ldaps pop3 pop3s rtsp scp sftp smb smbs smtp smtps telnet tftp'",
    "  echo 'Features: AsynchDNS IPv6 Largefile GSS-API Kerberos SPNEGO NTLM NTLM_WB SSL libz TLS-SRP HTTP2 UnixSockets HTTPS-proxy PSL'",
    '  exit 0',
    'fi',
    'args=() n=0',
    'while [ "$#" -gt 0 ]; do',
    '  case $1 in',
    '    --aws-sigv4) echo "Warning: option --aws-sigv4: is unknown" >&2; shift 2 ;;',
    '    -K | --config)',
    `      n=$((n + 1)); cfg="${sb.dir}/curl-config.$$.$n"; src=$2; [ "$src" = - ] && src=/dev/stdin; i=0`,
    '      while IFS= read -r line || [ -n "$line" ]; do',
    '        i=$((i + 1))',
    '        if [[ $line =~ ^[[:space:]]*(--)?aws-sigv4 ]]; then echo "Warning: $2:$i: warning: \'aws-sigv4\' is unknown" >&2; else printf \'%s\\n\' "$line"; fi',
    '      done <"$src" >"$cfg"',
    '      args+=(-K "$cfg"); shift 2 ;;',
    '    *) args+=("$1"); shift ;;',
    '  esac',
    'done',
    `exec '${REAL_CURL}' "\${args[@]}"`,
    '',
  ].join('\n'), { mode: 0o755 });
}

/**
 * Puts a fake `aws_signing_helper` (IAM Roles Anywhere) on the sandbox's PATH: `credential-process` with its
 * options prints the credential_process JSON of `creds` (FAKE_SIGNING_HELPER_EXIT makes it fail instead,
 * FAKE_SIGNING_HELPER_OUTPUT replaces its output). Returns the file its argv lands in, one arg a line.
 */
export function installSigningHelper(sb: Sandbox, creds: { akid: string; secret: string; token: string }): string {
  const argsFile = path.join(sb.dir, 'signing-helper.args');
  const json = JSON.stringify({ Version: 1, AccessKeyId: creds.akid, SecretAccessKey: creds.secret, SessionToken: creds.token, Expiration: '2030-01-01T01:00:00Z' }, null, 2);
  fs.writeFileSync(path.join(sb.bin, 'aws_signing_helper'), [
    '#!/bin/sh',
    `printf '%s\\n' "$@" > '${argsFile}'`,
    'if [ -n "${FAKE_SIGNING_HELPER_EXIT:-}" ]; then',
    `  echo "AccessDeniedException: no trust anchor matches" >&2`,
    '  exit "$FAKE_SIGNING_HELPER_EXIT"',
    'fi',
    'if [ -n "${FAKE_SIGNING_HELPER_OUTPUT:-}" ]; then printf \'%s\\n\' "$FAKE_SIGNING_HELPER_OUTPUT"; exit 0; fi',
    `cat <<'JSON'`,
    json,
    'JSON',
    '',
  ].join('\n'), { mode: 0o755 });
  return argsFile;
}

/**
 * Runs the real Linux step of the AgentInstaller document (documents/installer/install-agent.sh) with bash against a
 * fake `aws` CLI, fake package managers and systemctl, with packages verified by real sha256sum and real gpg; lints it
 * with ShellCheck.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AgentInstaller } from '../../lib';
import { testApp } from '../support/gates';
import {
  BUCKET, GpgSigner, LINUX_SCRIPT, NODE_ID, REGION, Sandbox, cleanUp, complianceCalls, denyParameter, fakePackage,
  installedVersion, makeSandbox, preinstall, putObject, putParameter, readLog, run, sha256,
} from './harness';

afterEach(cleanUp);

const PREFIX = '/agent-installer/SecurityAgent';
const KEY = 'securityagent/securityagent-7.2.1.x86_64.rpm';

/** The document parameters (as SSM Agent passes them) of an enforce-mode association with one rpm package. */
function params(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    SSM_agentName: 'SecurityAgent',
    SSM_mode: 'enforce',
    SSM_complianceSeverity: 'HIGH',
    SSM_switchParameter: `${PREFIX}/switch`,
    SSM_sharedSwitchParameter: '',
    SSM_desiredVersionParameter: `${PREFIX}/desired-version`,
    SSM_installArgumentsParameter: `${PREFIX}/install-arguments`,
    SSM_linuxPackageName: 'securityagent',
    SSM_linuxServiceName: 'securityagentd',
    SSM_linuxHealthCommand: '',
    SSM_linuxVersionCommand: '',
    SSM_packageLinuxX8664: '',
    SSM_packageLinuxArm64: '',
    ...overrides,
  };
}

/** A sandbox with the agent's parameters and one package object; returns the package spec for the document. */
function setUp(options: { version?: string; content?: Buffer; format?: string; sha?: string; key?: string } = {}): { sb: Sandbox; spec: string } {
  const sb = makeSandbox();
  putParameter(sb, `${PREFIX}/switch`, 'enabled');
  putParameter(sb, `${PREFIX}/desired-version`, options.version ?? '7.2.1');
  putParameter(sb, `${PREFIX}/install-arguments`, '-');
  const content = options.content ?? fakePackage({ version: options.version ?? '7.2.1' });
  const key = options.key ?? KEY;
  putObject(sb, key, 'v1', content);
  const spec = [options.format ?? 'rpm', BUCKET, key, 'v1', options.sha ?? sha256(content), '', '', '', ''].join('|');
  return { sb, spec };
}

describe('install-agent.sh: static checks', () => {
  test('passes bash -n', () => {
    expect(spawnSync('bash', ['-n', LINUX_SCRIPT]).status).toBe(0);
  });

  test('ShellCheck reports nothing at severity warning or above', () => {
    const found = spawnSync('sh', ['-c', 'command -v shellcheck'], { encoding: 'utf8' });
    if (found.status !== 0) {
      throw new Error('shellcheck is not installed: install it (Debian/Ubuntu: apt-get install -y shellcheck; .ci/run does this as root)');
    }
    const r = spawnSync('shellcheck', ['-S', 'warning', '-f', 'gcc', LINUX_SCRIPT], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('holds no {{ }} for SSM to splice values into, and evaluates no parameter as code except the health and version commands', () => {
    const text = fs.readFileSync(LINUX_SCRIPT, 'utf8');
    expect(text).not.toContain('{{');
    expect(text).not.toMatch(/\beval\b/);
    expect(text.match(/bash -c "\$[A-Z_]+"/g)).toEqual(['bash -c "$VERSION_COMMAND"', 'bash -c "$HEALTH_COMMAND"']);
  });
});

describe('install-agent.sh: enforce mode', () => {
  test('downloads that object version, checks its SHA-256, installs, starts the service and reports COMPLIANT', async () => {
    const { sb, spec } = setUp();
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));

    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(installedVersion(sb)).toBe('7.2.1');
    expect(r.stdout).toContain('install-agent: installing SecurityAgent 7.2.1 (installed version is none, desired 7.2.1)');
    expect(r.stdout).toContain('install-agent: SHA-256 matches');
    expect(r.stdout).toContain('install-agent: installed: SecurityAgent 7.2.1 is installed and healthy');
    expect(readLog(sb, 'aws.log').filter((l) => l.includes('get-object'))).toEqual([
      expect.stringMatching(new RegExp(`^--region ${REGION} s3api get-object --bucket ${BUCKET} --key ${KEY.replace(/\./g, '\\.')} --version-id v1 /`)),
    ]);
    expect(readLog(sb, 'pm.log')).toEqual(expect.arrayContaining([expect.stringMatching(/^rpm -U --replacepkgs --oldpackage .*package\.rpm$/), 'systemctl enable --now securityagentd']));
    const calls = complianceCalls(sb);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ resourceId: NODE_ID, resourceType: 'ManagedInstance', complianceType: 'Custom:SecurityAgent' });
    expect(calls[0].summary.ExecutionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(calls[0].items).toEqual([{
      Id: 'SecurityAgent',
      Title: 'SecurityAgent 7.2.1: installed',
      Severity: 'HIGH',
      Status: 'COMPLIANT',
      Details: { Outcome: 'installed', Mode: 'enforce', DesiredVersion: '7.2.1', InstalledVersion: '7.2.1', Message: 'installed: SecurityAgent 7.2.1 is installed and healthy' },
    }]);
  });

  test('a second run is a no-op that says so: no download, no install, reported COMPLIANT already-installed', async () => {
    const { sb, spec } = setUp();
    expect((await run(sb, params({ SSM_packageLinuxX8664: spec }))).code).toBe(0);
    const downloadsBefore = readLog(sb, 'aws.log').filter((l) => l.includes('get-object')).length;
    const installsBefore = readLog(sb, 'pm.log').filter((l) => l.startsWith('rpm -U')).length;

    const second = await run(sb, params({ SSM_packageLinuxX8664: spec }));
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('install-agent: nothing to do: SecurityAgent 7.2.1 is installed and healthy');
    expect(readLog(sb, 'aws.log').filter((l) => l.includes('get-object'))).toHaveLength(downloadsBefore);
    expect(readLog(sb, 'pm.log').filter((l) => l.startsWith('rpm -U'))).toHaveLength(installsBefore);
    expect(complianceCalls(sb).map((c) => [c.items[0].Status, c.items[0].Details.Outcome])).toEqual([
      ['COMPLIANT', 'installed'], ['COMPLIANT', 'already-installed'],
    ]);
  });

  test('an older installed version is upgraded to the desired one', async () => {
    const { sb, spec } = setUp();
    preinstall(sb, '7.1.0');
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('installing SecurityAgent 7.2.1 (installed version is 7.1.0, desired 7.2.1)');
    expect(installedVersion(sb)).toBe('7.2.1');
  });

  test('SHA-256 mismatch: refuses, says why, installs nothing, exits 1 and reports NON_COMPLIANT', async () => {
    const { sb, spec } = setUp({ sha: 'a'.repeat(64) });
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));

    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`install-agent: refused: SHA-256 mismatch for s3://${BUCKET}/${KEY} version v1: expected ${'a'.repeat(64)}, got ${sha256(fakePackage({ version: '7.2.1' }))}; nothing installed`);
    expect(installedVersion(sb)).toBeUndefined();
    expect(readLog(sb, 'pm.log').filter((l) => l.startsWith('rpm -U'))).toEqual([]);
    const [call] = complianceCalls(sb);
    expect(call.items[0]).toMatchObject({ Status: 'NON_COMPLIANT', Details: { Outcome: 'refused', InstalledVersion: 'none' } });
  });

  test('a missing object version fails the run and reports NON_COMPLIANT download-failed', async () => {
    const { sb } = setUp();
    const spec = ['rpm', BUCKET, KEY, 'v2', 'b'.repeat(64), '', '', '', ''].join('|');
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot download s3://${BUCKET}/${KEY} version v2`);
    expect(complianceCalls(sb)[0].items[0].Details.Outcome).toBe('download-failed');
  });

  test('no package for this architecture: nothing installed, NON_COMPLIANT no-package', async () => {
    const { sb, spec } = setUp();
    const r = await run(sb, { ...params({ SSM_packageLinuxX8664: spec }), FAKE_ARCH: 'aarch64' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no package for architecture aarch64');
    expect(installedVersion(sb)).toBeUndefined();
  });

  test('picks the arm64 package on aarch64', async () => {
    const { sb, spec } = setUp({ key: 'securityagent/securityagent-7.2.1.aarch64.rpm' });
    const r = await run(sb, { ...params({ SSM_packageLinuxArm64: spec }), FAKE_ARCH: 'aarch64' });
    expect(r.code).toBe(0);
    expect(readLog(sb, 'aws.log').some((l) => l.includes('--key securityagent/securityagent-7.2.1.aarch64.rpm'))).toBe(true);
  });

  test('deb packages are installed with dpkg -i and their version read with dpkg-query', async () => {
    const { sb, spec } = setUp({ format: 'deb', key: 'securityagent/securityagent_7.2.1_amd64.deb' });
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));
    expect(r.code).toBe(0);
    expect(readLog(sb, 'pm.log').some((l) => /^dpkg -i .*package\.deb$/.test(l))).toBe(true);
    expect((await run(sb, params({ SSM_packageLinuxX8664: spec }))).stdout).toContain('nothing to do');
  });

  test('script packages get the install arguments as separate words, never evaluated', async () => {
    const sb = makeSandbox();
    putParameter(sb, `${PREFIX}/switch`, 'enabled');
    putParameter(sb, `${PREFIX}/desired-version`, '1.0.0');
    const marker = `${sb.dir}/pwned`;
    putParameter(sb, `${PREFIX}/install-arguments`, `--tenant acme --token $(touch ${marker}) ;touch ${marker}`);
    const installer = Buffer.from([
      '#!/bin/bash',
      'printf "%s\\n" "$@" >"$FAKE_STATE/script-args"',
      'mkdir -p "$FAKE_STATE/db" && printf 1.0.0 >"$FAKE_STATE/db/securityagent"',
      '',
    ].join('\n'));
    putObject(sb, 'install.sh', 'v1', installer);
    const spec = ['script', BUCKET, 'install.sh', 'v1', sha256(installer), '', '', '', ''].join('|');
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec, SSM_linuxServiceName: '' }));

    expect(r.code).toBe(0);
    expect(fs.readFileSync(`${sb.state}/script-args`, 'utf8').split('\n').filter(Boolean)).toEqual([
      '--tenant', 'acme', '--token', '$(touch', `${marker})`, ';touch', marker,
    ]);
    expect(fs.existsSync(marker)).toBe(false);
  });

  test('rpm/deb installs get the install arguments in AGENT_INSTALL_ARGS', async () => {
    const { sb, spec } = setUp();
    putParameter(sb, `${PREFIX}/install-arguments`, 'CID=1234-ABCD');
    expect((await run(sb, params({ SSM_packageLinuxX8664: spec }))).code).toBe(0);
    expect(fs.readFileSync(`${sb.state}/db/securityagent.args`, 'utf8').trim()).toBe('CID=1234-ABCD');
  });

  test('a failing install scriptlet exits 1 and reports NON_COMPLIANT install-failed with the installer output', async () => {
    const content = fakePackage({ version: '7.2.1', installExit: 7 });
    const { sb, spec } = setUp({ content });
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: scriptlet failed for securityagent');
    expect(complianceCalls(sb)[0].items[0]).toMatchObject({ Status: 'NON_COMPLIANT', Details: { Outcome: 'install-failed' } });
  });
});

describe('install-agent.sh: health check', () => {
  test('a service that does not start: exits 1 and reports NON_COMPLIANT unhealthy', async () => {
    const content = fakePackage({ version: '7.2.1', starts: false });
    const { sb, spec } = setUp({ content });
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('install-agent: unhealthy after install: service securityagentd is not active');
    expect(complianceCalls(sb)[0].items[0]).toMatchObject({ Status: 'NON_COMPLIANT', Details: { Outcome: 'unhealthy', InstalledVersion: '7.2.1' } });
  });

  test('a failing custom health command: exits 1, says what it printed, reports NON_COMPLIANT', async () => {
    const { sb, spec } = setUp();
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec, SSM_linuxHealthCommand: 'echo "cannot reach the console"; exit 3' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unhealthy after install: health command failed: cannot reach the console');
    expect(complianceCalls(sb)[0].items[0].Status).toBe('NON_COMPLIANT');
  });

  test('a passing custom health command and a version command are used', async () => {
    const { sb, spec } = setUp();
    const r = await run(sb, params({
      SSM_packageLinuxX8664: spec,
      SSM_linuxHealthCommand: 'test -f "$FAKE_STATE/db/securityagent"',
      SSM_linuxVersionCommand: 'cat "$FAKE_STATE/db/securityagent" 2>/dev/null || true',
    }));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('installed: SecurityAgent 7.2.1 is installed and healthy');
  });

  test('installed at the desired version but the service is stopped: reinstalls and starts it', async () => {
    const { sb, spec } = setUp();
    preinstall(sb, '7.2.1');
    fs.writeFileSync(`${sb.state}/services/securityagentd`, 'inactive\n');
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('installing SecurityAgent 7.2.1 (service securityagentd is not active)');
  });
});

describe('install-agent.sh: signatures (real gpg)', () => {
  let trusted: GpgSigner;
  let other: GpgSigner;
  beforeAll(() => {
    trusted = new GpgSigner('Example Security Release <release@security.example>');
    other = new GpgSigner('Somebody Else <else@example.com>');
  });
  afterAll(() => { trusted.close(); other.close(); });

  function signedSetUp(signature: Buffer, publicKey: Buffer = trusted.publicKey): { sb: Sandbox; spec: string } {
    const content = fakePackage({ version: '7.2.1' });
    const { sb } = setUp({ content });
    putObject(sb, `${KEY}.sig`, 's1', signature);
    putObject(sb, 'keys/release.asc', 'k1', publicKey);
    const spec = ['rpm', BUCKET, KEY, 'v1', sha256(content), `${KEY}.sig`, 's1', 'keys/release.asc', 'k1'].join('|');
    return { sb, spec };
  }

  test('a detached signature from the trusted key: verified, installed', async () => {
    const { sb, spec } = signedSetUp(trusted.sign(fakePackage({ version: '7.2.1' })));
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('install-agent: signature verified with the trusted key');
    expect(readLog(sb, 'aws.log').some((l) => l.includes(`--key ${KEY}.sig --version-id s1`))).toBe(true);
    expect(installedVersion(sb)).toBe('7.2.1');
  });

  test('a signature by another key: refused, nothing installed, NON_COMPLIANT', async () => {
    const { sb, spec } = signedSetUp(other.sign(fakePackage({ version: '7.2.1' })));
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('install-agent: refused: the detached signature does not verify with the trusted key; nothing installed');
    expect(installedVersion(sb)).toBeUndefined();
    expect(complianceCalls(sb)[0].items[0]).toMatchObject({ Status: 'NON_COMPLIANT', Details: { Outcome: 'refused' } });
  });

  test('a signature of other bytes (the trusted key signed something else): refused', async () => {
    const { sb, spec } = signedSetUp(trusted.sign(Buffer.from('another file')));
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused: the detached signature does not verify with the trusted key');
  });

  test('a trusted key object that is not a key: refused', async () => {
    const { sb, spec } = signedSetUp(trusted.sign(fakePackage({ version: '7.2.1' })), Buffer.from('not a key'));
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused: the trusted key object is not an OpenPGP public key');
  });
});

describe('install-agent.sh: safety switch', () => {
  test('switch off: a no-op that says "disabled", reads nothing else, changes nothing, reports nothing', async () => {
    const { sb, spec } = setUp();
    putParameter(sb, `${PREFIX}/switch`, 'disabled');
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));

    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`install-agent: disabled: the switch ${PREFIX}/switch is 'disabled' (not 'enabled'): nothing checked, nothing changed`);
    expect(readLog(sb, 'aws.log')).toEqual([`--region ${REGION} ssm get-parameter --name ${PREFIX}/switch --query Parameter.Value --output text`]);
    expect(readLog(sb, 'pm.log')).toEqual([]);
    expect(complianceCalls(sb)).toEqual([]);
  });

  test('the shared switch off (read by ARN) disables the run too', async () => {
    const { sb, spec } = setUp();
    const arn = 'arn:aws:ssm:eu-west-1:999988887777:parameter/org/agent-installer/SecurityAgent/switch';
    putParameter(sb, arn, 'disabled');
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec, SSM_sharedSwitchParameter: arn }));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`disabled: the switch ${arn} is 'disabled'`);
    expect(installedVersion(sb)).toBeUndefined();
  });

  test('an unreadable switch refuses to act (exit 3), changes nothing', async () => {
    const { sb, spec } = setUp();
    denyParameter(sb, `${PREFIX}/switch`);
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot read the switch parameter ${PREFIX}/switch: refusing to act`);
    expect(installedVersion(sb)).toBeUndefined();
  });
});

describe('install-agent.sh: report mode', () => {
  test('checks only: nothing downloaded or installed, reports NON_COMPLIANT report-only, exits 0', async () => {
    const { sb, spec } = setUp();
    const r = await run(sb, params({ SSM_mode: 'report', SSM_packageLinuxX8664: spec }));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('install-agent: report mode: not compliant (installed version is none, desired 7.2.1); nothing changed');
    expect(readLog(sb, 'aws.log').some((l) => l.includes('get-object'))).toBe(false);
    // Only queries: no rpm -U, no systemctl enable.
    expect(readLog(sb, 'pm.log').filter((l) => !/^(rpm -q |systemctl is-active )/.test(l))).toEqual([]);
    expect(complianceCalls(sb)[0].items[0]).toMatchObject({ Status: 'NON_COMPLIANT', Details: { Outcome: 'report-only', Mode: 'report' } });
  });

  test('a healthy node in report mode reports COMPLIANT', async () => {
    const { sb, spec } = setUp();
    preinstall(sb, '7.2.1');
    const r = await run(sb, params({ SSM_mode: 'report', SSM_packageLinuxX8664: spec }));
    expect(r.code).toBe(0);
    expect(complianceCalls(sb)[0].items[0].Status).toBe('COMPLIANT');
  });
});

describe('install-agent.sh: inputs and phases', () => {
  test('without the SSM_ environment (agent older than 3.3.2746.0) it stops and says why', async () => {
    const sb = makeSandbox();
    const r = await run(sb, {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('this document needs SSM Agent 3.3.2746.0 or later');
  });

  test('a desired version that is not a version is refused', async () => {
    const { sb, spec } = setUp({ version: '7.2.1; rm -rf /' });
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the desired version '7.2.1; rm -rf /' is not a version");
  });

  test('a failed compliance report fails an otherwise successful run', async () => {
    const { sb, spec } = setUp();
    fs.writeFileSync(`${sb.state}/compliance-fails`, '');
    const r = await run(sb, params({ SSM_packageLinuxX8664: spec }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PutComplianceItems failed: compliance not reported (COMPLIANT, installed)');
  });

  test('decide phase (Distributor): 0 when an install is needed, 100 when healthy or disabled; verify phase checks health', async () => {
    const { sb } = setUp();
    const env = { ...params(), INSTALLER_PHASE: 'decide' };
    expect((await run(sb, env)).code).toBe(0);
    preinstall(sb, '7.2.1');
    const healthy = await run(sb, env);
    expect(healthy.code).toBe(100);
    expect(healthy.stdout).toContain('nothing to do');
    putParameter(sb, `${PREFIX}/switch`, 'off');
    expect((await run(sb, env)).code).toBe(100);
    putParameter(sb, `${PREFIX}/switch`, 'enabled');
    expect((await run(sb, { ...params(), INSTALLER_PHASE: 'verify' })).code).toBe(0);
    fs.writeFileSync(`${sb.state}/services/securityagentd`, 'failed\n');
    const unhealthy = await run(sb, { ...params(), INSTALLER_PHASE: 'verify' });
    expect(unhealthy.code).toBe(1);
    expect(unhealthy.stderr).toContain('unhealthy after install: service securityagentd is not active');
  });
});

describe('install-agent.sh as the synthesized document runs it', () => {
  test('the decide step of a Distributor document, written out from the template, decides like the file', async () => {
    const stack = new Stack(testApp(), 'Doc');
    new AgentInstaller(stack, 'Agent', {
      agentName: 'SecurityAgent', agentVersion: '7.2.1', linuxPackageName: 'securityagent', linuxServiceName: 'securityagentd',
      distributorPackageName: 'ExampleSecurityAgent', distributorPackageVersion: '7.2.1',
    });
    const [doc] = Object.values(Template.fromStack(stack).findResources('AWS::SSM::Document')) as { Properties: { Content: { mainSteps: { name: string; inputs: { runCommand: string[] } }[] } } }[];
    const decide = doc.Properties.Content.mainSteps.find((step) => step.name === 'decideLinux')!;
    const { sb } = setUp();
    const script = path.join(sb.dir, '_script.sh');
    fs.writeFileSync(script, decide.inputs.runCommand.join('\n') + '\n');

    const needed = await run(sb, params(), script);
    expect(needed.code).toBe(0);
    expect(needed.stdout).toContain('install-agent: install needed (installed version is none, desired 7.2.1)');
    preinstall(sb, '7.2.1');
    expect((await run(sb, params(), script)).code).toBe(100);
  });
});

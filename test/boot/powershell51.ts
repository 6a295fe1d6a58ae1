/**
 * A PowerShell syntax check for the tests: parses with the tree-sitter PowerShell grammar (the .wasm shipped in
 * the `tree-sitter-powershell` package, run by `web-tree-sitter`, nothing built or downloaded) and reports syntax
 * errors and constructs that Windows PowerShell 5.1 lacks.
 */
import * as fs from 'fs';
import * as v8 from 'v8';
import { Language, Node, Parser } from 'web-tree-sitter';

export interface Finding {
  /** 1-based line. */
  readonly line: number;
  readonly message: string;
}

/** Parameters that only PowerShell 6/7 cmdlets have (any command: none of them exists in 5.1's built-ins). */
const PS7_PARAMETERS: Record<string, string> = {
  skiphttperrorcheck: 'Invoke-RestMethod/Invoke-WebRequest -SkipHttpErrorCheck',
  noproxy: 'Invoke-RestMethod/Invoke-WebRequest -NoProxy',
  skipcertificatecheck: 'Invoke-RestMethod/Invoke-WebRequest -SkipCertificateCheck',
  responseheadersvariable: 'Invoke-RestMethod -ResponseHeadersVariable',
  statuscodevariable: 'Invoke-RestMethod -StatusCodeVariable',
  maximumretrycount: 'Invoke-RestMethod/Invoke-WebRequest -MaximumRetryCount',
  retryintervalsec: 'Invoke-RestMethod/Invoke-WebRequest -RetryIntervalSec',
  sslprotocol: 'Invoke-RestMethod/Invoke-WebRequest -SslProtocol',
  allowunencryptedauthentication: 'Invoke-RestMethod/Invoke-WebRequest -AllowUnencryptedAuthentication',
  skipheadervalidation: 'Invoke-RestMethod/Invoke-WebRequest -SkipHeaderValidation',
  preserveauthorizationonredirect: 'Invoke-RestMethod/Invoke-WebRequest -PreserveAuthorizationOnRedirect',
  httpversion: 'Invoke-RestMethod/Invoke-WebRequest -HttpVersion',
  ashashtable: 'ConvertFrom-Json -AsHashtable',
  asbytestream: '-AsByteStream (5.1: -Encoding Byte)',
};

/** Parameters that exist in 5.1 on other commands, but not on these. */
const PS7_COMMAND_PARAMETERS: Record<string, Record<string, string>> = {
  'foreach-object': { parallel: 'ForEach-Object -Parallel', throttlelimit: 'ForEach-Object -ThrottleLimit' },
  'convertfrom-json': { depth: 'ConvertFrom-Json -Depth', noenumerate: 'ConvertFrom-Json -NoEnumerate' },
};
const COMMAND_ALIASES: Record<string, string> = { '%': 'foreach-object', 'foreach': 'foreach-object' };

/** Commands that PowerShell 5.1 does not have. */
const PS7_COMMANDS = new Set(['test-json', 'join-string', 'get-error', 'get-uptime', 'remove-alias', 'remove-service',
  'convertfrom-markdown', 'show-markdown', 'get-markdownoption', 'set-markdownoption']);

let parser: Parser | undefined;

/** The parser, loaded once per test file. */
export async function powerShellParser(): Promise<Parser> {
  if (parser) return parser;
  // V8 would recompile the 1 MB grammar with TurboFan in the background once it runs hot, and a process exit
  // waits for that (tens of seconds on a busy machine); the baseline compiler is plenty for a few parses.
  v8.setFlagsFromString('--liftoff-only');
  await Parser.init();
  // Bytes, not a path: with a path web-tree-sitter reads the file through a dynamic import, which Jest's CommonJS
  // sandbox refuses.
  const wasm = fs.readFileSync(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));
  const language = await Language.load(new Uint8Array(wasm));
  parser = new Parser();
  parser.setLanguage(language);
  return parser;
}

/** What the grammar's error at `index` (a `?` it could not place) is in PowerShell 7. */
function questionMarkConstruct(source: string, index: number): string {
  if (source.startsWith('??=', index)) return "null-coalescing assignment '??=' (PowerShell 7+)";
  if (source.startsWith('??', index)) return "null-coalescing operator '??' (PowerShell 7+)";
  if (source.startsWith('?.', index) || source.startsWith('?[', index)) return "null-conditional access '?.' / '?[]' (PowerShell 7+)";
  return "ternary operator '? :' (PowerShell 7+)";
}

function commandFindings(node: Node, findings: Finding[]): void {
  const nameNode = node.childForFieldName('command_name');
  const raw = (nameNode?.text ?? '').toLowerCase();
  const name = COMMAND_ALIASES[raw] ?? raw;
  const line = node.startPosition.row + 1;
  if (PS7_COMMANDS.has(name)) findings.push({ line, message: `command ${nameNode!.text} (PowerShell 6/7+)` });
  const elements = node.childForFieldName('command_elements');
  const args = (elements?.namedChildren ?? []).filter((c): c is Node => !!c && c.type !== 'command_argument_sep');
  args.forEach((el, i) => {
    if (el.type !== 'command_parameter') return;
    const param = el.text.replace(/^-/, '').replace(/:.*$/s, '').toLowerCase();
    const specific = PS7_COMMAND_PARAMETERS[name]?.[param];
    if (PS7_PARAMETERS[param] || specific) {
      findings.push({ line: el.startPosition.row + 1, message: `parameter ${PS7_PARAMETERS[param] ?? specific} (PowerShell 6/7+)` });
    }
    if (param === 'proxy' && args[i + 1]?.text.toLowerCase() === '$null') {
      findings.push({ line: el.startPosition.row + 1, message: '-Proxy $null (5.1 cannot bind $null to -Proxy; use HttpWebRequest.Proxy = $null)' });
    }
  });
}

/** Syntax errors and PowerShell 6/7-only constructs in `source`, in source order; empty when it is fine for 5.1. */
export function checkWindowsPowerShell51(p: Parser, source: string): Finding[] {
  const tree = p.parse(source);
  if (!tree) throw new Error('the PowerShell parser returned no tree');
  const findings: Finding[] = [];
  const visit = (node: Node): void => {
    const line = node.startPosition.row + 1;
    if (node.type === 'ERROR') {
      const text = source.slice(node.startIndex, node.endIndex);
      const q = text.indexOf('?');
      findings.push(q >= 0
        ? { line, message: questionMarkConstruct(source, node.startIndex + q) }
        : { line, message: `syntax error near '${text.slice(0, 60)}'` });
      return;
    }
    if (node.isMissing) {
      findings.push({ line, message: `syntax error: missing '${node.type}'` });
      return;
    }
    if (node.type === 'pipeline_chain_tail') findings.push({ line, message: "pipeline chain operator '&&' / '||' (PowerShell 7+)" });
    if (node.type === 'command') commandFindings(node, findings);
    for (const child of node.children) if (child) visit(child);
  };
  visit(tree.rootNode);
  if (tree.rootNode.hasError && findings.length === 0) findings.push({ line: 1, message: 'syntax error' });
  tree.delete();
  return findings;
}

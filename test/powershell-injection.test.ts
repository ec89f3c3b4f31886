import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonValue, ScriptCall } from '../domain/scripts';
import { SCRIPT_NAMES, SCRIPT_PARAM_SCHEMAS, type ScriptName } from '../domain/steps';
import { buildCommand, decodeRequest, quotePowerShellLiteral, type CommandOptions } from '../powershell/command';
import { standaloneScript } from '../powershell/script-text';
import { validateCall } from '../runner/contract';
import { ScriptFailure } from '../runner/port';

const OPTIONS: CommandOptions = { useCredential: true, timeoutMs: 120_000 };

const VALID: Record<ScriptName, Record<string, JsonValue>> = {
  'Get-OnboardingSnapshot': { Fqdn: 'exch01.corp.example', ServiceAccount: 'CORP\\monosync_svc' },
  'Grant-RemoteManagement': { Member: 'CORP\\monosync_svc' },
  'Enable-KerberosDelegation': {
    ComputerName: 'EXCH01',
    Fqdn: 'exch01.corp.example',
    ServiceAccount: 'CORP\\monosync_svc',
    DomainController: 'dc01.corp.example',
    TrustedForDelegation: true,
  },
  'Enable-Remoting': {},
  'Set-HttpsListener': {
    Fqdn: 'exch01.corp.example',
    MinDaysLeft: 30,
    Issuers: ['CN=Corp Issuing CA, DC=corp, DC=example'],
    TrustedSelfSigned: ['B'.repeat(40)],
    Thumbprint: 'A'.repeat(40),
  },
  'Set-CbtHardening': { Level: 'Relaxed' },
  'Set-TrustedHosts': { Entries: ['exch01.corp.example'] },
  'Set-MonosyncFirewallRule': {
    RuleName: 'Monosync-WinRM-In',
    Ports: [5986],
    RemoteAddresses: ['10.0.0.5'],
    Profiles: ['Domain'],
  },
  'Test-MonosyncConnectivity': {
    Fqdn: 'exch01.corp.example',
    ServiceAccount: 'CORP\\monosync_svc',
    Domain: 'corp.example',
    CheckSecondHop: true,
  },
};

const HOSTILE = [
  "'",
  '\u2018',
  '\u2019',
  '\u201A',
  '\u201B',
  '"',
  ';',
  '$(Remove-Item C:\\)',
  '`',
  '\r',
  '\n',
  '\r\n',
  '*',
  '\u0000',
  "x'; Remove-Item C:\\ -Recurse; '",
];

function callFor(script: ScriptName, params: Record<string, JsonValue>): ScriptCall {
  const target =
    script === 'Test-MonosyncConnectivity'
      ? { host: 'worker' as const, onBehalfOf: 'exch01.corp.example' }
      : { host: 'exchange' as const, fqdn: 'exch01.corp.example' };
  return { script, mode: 'apply', params, target };
}

/** The hostile value as a whole, and embedded in a value that would otherwise be valid. */
function variants(original: JsonValue, hostile: string): JsonValue[] {
  const embed = (v: JsonValue): JsonValue[] =>
    typeof v === 'string' ? [hostile, `${v}${hostile}`, `${hostile}${v}`] : [hostile];
  if (Array.isArray(original)) return embed(original[0] ?? '').map((v) => [v]);
  return embed(original);
}

function base64Literal(command: string): string {
  const match = /(?:-ArgumentList|-RequestBase64) '([A-Za-z0-9+/=]+)'/.exec(command);
  assert.ok(match, 'the command carries one base64 argument');
  return match[1];
}

/** The command without its two base64 literals (the request and the script), both checked on their own. */
function outsideBase64(command: string, encoded: string): string {
  const script = /FromBase64String\('([A-Za-z0-9+/=]+)'\)/.exec(command);
  assert.ok(script, 'the command carries the script as base64');
  return command.replace(encoded, '').replace(script[1], '');
}

const accepted: Array<{ param: string; hostile: string; kept: string }> = [];

void describe('hostile values never become PowerShell text', () => {
  for (const script of SCRIPT_NAMES) {
    const names = Object.keys(SCRIPT_PARAM_SCHEMAS[script].shape);
    for (const name of names) {
      void it(`${script} -${name}`, () => {
        for (const hostile of HOSTILE) {
          for (const value of variants(VALID[script][name], hostile)) {
            const call = callFor(script, { ...VALID[script], [name]: value });
            let validated: ScriptCall;
            try {
              validated = validateCall(call);
            } catch (err) {
              assert.ok(err instanceof ScriptFailure, 'validation fails with a ScriptFailure');
              assert.equal(err.kind.type, 'InvalidInput');
              assert.match(err.message, new RegExp(`-${name}\\b`), `the error names -${name}: ${err.message}`);
              continue;
            }
            const command = buildCommand(validated, OPTIONS);
            const encoded = base64Literal(command);
            assert.deepEqual(decodeRequest(encoded).params[name], validated.params[name]);
            assert.ok(!command.includes('\n') && !command.includes('\r'), 'the command is one line');
            const outside = outsideBase64(command, encoded);
            const text = Array.isArray(value) ? String(value[0]) : String(value);
            for (const piece of [hostile, text]) {
              assert.ok(!outside.includes(piece), `${JSON.stringify(piece)} leaked into ${command}`);
            }
            accepted.push({ param: `${script} -${name}`, hostile, kept: JSON.stringify(validated.params[name]) });
          }
        }
      });
    }
  }

  void it('accepts only normalised harmless values, or an inert *', () => {
    // Leading/trailing whitespace is trimmed by normalisation; what is kept must be harmless.
    assert.ok(accepted.some((a) => a.param === 'Set-TrustedHosts -Entries' && a.kept === '["*"]'));
    for (const { param, hostile, kept } of accepted) {
      // '*' is inert data: the scripts compare with -eq/-contains (literal), never -like or -match.
      if (hostile === '*') continue;
      assert.ok(!kept.includes(hostile) && /^[\w.\\@", =[\]-]*$/.test(kept), `${param} kept ${kept}`);
    }
  });

  void it('accepts * in TrustedHosts only inside the base64 request', () => {
    const call = validateCall(callFor('Set-TrustedHosts', { Entries: ['*'] }));
    const command = buildCommand(call, OPTIONS);
    const encoded = base64Literal(command);
    assert.deepEqual(decodeRequest(encoded).params.Entries, ['*']);
    assert.ok(!outsideBase64(command, encoded).includes('*'));
  });

  void it('sends the standalone script, local or remote, as base64 in one script block', () => {
    for (const script of SCRIPT_NAMES) {
      const call = validateCall(callFor(script, VALID[script]));
      const remote = buildCommand({ ...call, target: { host: 'exchange', fqdn: 'exch01.corp.example' } }, OPTIONS);
      const local = buildCommand({ ...call, target: { host: 'worker', onBehalfOf: 'exch01.corp.example' } }, OPTIONS);
      assert.match(
        remote,
        /Invoke-Command -ComputerName 'exch01\.corp\.example' -Credential \$cred -SessionOption \$so -ScriptBlock \$sb -ArgumentList '[A-Za-z0-9+/=]+' \}$/
      );
      assert.match(local, /; & \$sb\.GetNewClosure\(\) -RequestBase64 '[A-Za-z0-9+/=]+' \}$/);
      for (const command of [remote, local]) {
        const literals = [...command.matchAll(/'([A-Za-z0-9+/=]{64,})'/g)].map((m) => m[1]);
        assert.equal(literals.length, 2, 'one script and one request');
        assert.equal(Buffer.from(literals[0], 'base64').toString('utf8'), standaloneScript(script));
        assert.deepEqual(decodeRequest(literals[1]).params, call.params);
        assert.match(command, /^& \{ .* \}$/);
        assert.ok(!/[\r\n]/.test(command), 'one line');
        assert.doesNotMatch(command, /-FilePath/);
      }
    }
  });

  void it('rejects a hostile computer name before it reaches the command', () => {
    for (const hostile of HOSTILE) {
      const call: ScriptCall = {
        script: 'Enable-Remoting',
        mode: 'plan',
        params: {},
        target: { host: 'exchange', fqdn: `exch01${hostile}.corp.example` },
      };
      assert.throws(() => buildCommand(call, OPTIONS), /not a DNS name/);
    }
  });

  void it('never puts the password in the command text', () => {
    const command = buildCommand(validateCall(callFor('Enable-Remoting', {})), OPTIONS);
    assert.match(command, /\$env:MONOSYNC_ONBOARDING_ADMIN_PASSWORD/);
    assert.match(command, /-Credential \$cred/);
    assert.doesNotMatch(
      buildCommand(validateCall(callFor('Enable-Remoting', {})), { ...OPTIONS, useCredential: false }),
      /Credential/
    );
  });
});

void describe('quotePowerShellLiteral', () => {
  for (const quote of ["'", '\u2018', '\u2019', '\u201A', '\u201B']) {
    void it(`doubles U+${quote.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')}`, () => {
      assert.equal(quotePowerShellLiteral(`a${quote}b`), `'a${quote}${quote}b'`);
      assert.equal(quotePowerShellLiteral(`${quote}${quote}`), `'${quote.repeat(4)}'`);
    });
  }

  void it('leaves double quotes, $ and backticks inert inside single quotes', () => {
    assert.equal(quotePowerShellLiteral('"$(x)`'), `'"$(x)\`'`);
  });

  void it('rejects NUL and line breaks', () => {
    for (const bad of ['a\u0000b', 'a\rb', 'a\nb', 'a\u2028b']) assert.throws(() => quotePowerShellLiteral(bad));
  });
});

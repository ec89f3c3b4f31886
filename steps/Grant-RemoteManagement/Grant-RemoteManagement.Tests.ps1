# Pester 5 tests of Grant-RemoteManagement.ps1 in real pwsh; nothing here needs Windows.
# Run by `npm run test:ps` (alone) and `npm test` (after the node tests); see scripts/test-ps.ts.
#
# The .ps1 next to this file does not run by itself: its '#monosync-common' marker line is replaced by
# powershell/MonosyncCommon.ps1. BeforeAll asks the project's own code for the assembled text
# (standaloneScript() of powershell/script-text.ts, through `node --import tsx`) and writes it into
# $TestDrive, so these tests run exactly what the runner sends and `fleet script` writes, and the file
# also works under a bare Invoke-Pester from any directory (it needs `node` on PATH and npm's packages).

Describe 'Grant-RemoteManagement.ps1' {
    BeforeAll {
        $scriptName = 'Grant-RemoteManagement'
        $repoRoot = (Resolve-Path -Path (Join-Path -Path $PSScriptRoot -ChildPath '../..')).Path
        $script:ScriptPath = Join-Path -Path $TestDrive -ChildPath "$scriptName.ps1"
        $assemble = "require('node:fs').writeFileSync(process.argv[1], require('./powershell/script-text').standaloneScript(process.argv[2]))"
        Push-Location -Path $repoRoot
        try {
            $nodeOutput = & node --import tsx -e $assemble $script:ScriptPath $scriptName 2>&1
        } finally {
            Pop-Location
        }
        if ($LASTEXITCODE -ne 0) { throw "assembling $scriptName.ps1 failed (node exit $LASTEXITCODE): $nodeOutput" }
        $script:ScriptText = Get-Content -LiteralPath $script:ScriptPath -Raw

        # Calls the script the way the runner does (powershell/command.ts): the standalone text as one
        # script block in a fresh module scope, with the request as base64 of UTF-8 JSON.
        function Invoke-StepRequest {
            param([Parameter(Mandatory = $true)] $Request)
            $json = ConvertTo-Json -InputObject $Request -Compress -Depth 5
            $encoded = [System.Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($json))
            $block = [scriptblock]::Create($script:ScriptText)
            return @(& $block.GetNewClosure() -RequestBase64 $encoded)
        }

        # The runner reads one JSON document on one line; anything else is a broken contract.
        function ConvertFrom-Envelope {
            param([object[]]$Output)
            $Output.Count | Should -Be 1 -Because 'the script prints exactly one envelope'
            $Output[0] | Should -BeOfType [string]
            $Output[0] | Should -Not -Match '\n' -Because 'the envelope is one line'
            $envelope = ConvertFrom-Json -InputObject $Output[0]
            $envelope.schema | Should -Be 'monosync.onboard.step/v1'
            $envelope.script | Should -Be 'Grant-RemoteManagement'
            return $envelope
        }
    }

    It 'parses without errors once the common helpers are in place' {
        $tokens = $null
        $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($script:ScriptPath, [ref]$tokens, [ref]$errors)
        $errors | Should -BeNullOrEmpty
        $script:ScriptText | Should -Not -Match '#monosync-common:' -Because 'the marker line is replaced'
        $functions = $ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true).Name
        $functions | Should -Contain 'Write-StepFailure'
        $functions | Should -Contain 'Get-RemoteManagementState'
        $ast.ParamBlock.Parameters.Name.VariablePath.UserPath | Should -Be @('RequestBase64', 'Mode', 'Member', 'RollbackToJson')
    }

    Context 'a request whose params break validation' {
        It 'answers one envelope with ok=false and InvalidInput for <Case>' -ForEach @(
            @{ Case = 'a member with a semicolon'; Request = @{ mode = 'plan'; params = @{ Member = 'bad;name' }; rollbackTo = $null } }
            @{ Case = 'a member with a quote and a command'; Request = @{ mode = 'apply'; params = @{ Member = "CORP\x'; Remove-Item C:\ -Recurse" }; rollbackTo = $null } }
            @{ Case = 'a member with a space'; Request = @{ mode = 'plan'; params = @{ Member = 'CORP\monosync svc' }; rollbackTo = $null } }
            @{ Case = 'no member at all'; Request = @{ mode = 'plan'; params = @{}; rollbackTo = $null } }
            @{ Case = 'an unknown mode'; Request = @{ mode = 'destroy'; params = @{ Member = 'CORP\monosync_svc' }; rollbackTo = $null } }
        ) {
            $envelope = ConvertFrom-Envelope -Output (Invoke-StepRequest -Request $Request)
            $envelope.ok | Should -BeFalse
            $envelope.changed | Should -BeFalse
            $envelope.before | Should -BeNullOrEmpty
            $envelope.error.code | Should -Be 'InvalidInput'
            $envelope.error.class | Should -Be 'permanent'
            # Rejected by the parameter's own Validate* attribute when the request value is assigned.
            $envelope.error.exceptionType | Should -Be 'System.Management.Automation.ValidationMetadataException'
        }

        It 'lets a well-formed member through validation (so the cases above are not vacuous)' {
            $envelope = ConvertFrom-Envelope -Output (Invoke-StepRequest -Request @{ mode = 'plan'; params = @{ Member = 'CORP\monosync_svc' }; rollbackTo = $null })
            # Off Windows the script then stops at its first Windows-only command (Get-CimInstance).
            $envelope.error.code | Should -Not -Be 'InvalidInput'
            $envelope.mode | Should -Be 'plan'
        }
    }

    Context 'run by hand with named parameters' {
        It 'answers an envelope with InvalidInput when -Member is missing' {
            $envelope = ConvertFrom-Envelope -Output @(& $script:ScriptPath -Mode plan)
            $envelope.ok | Should -BeFalse
            $envelope.error.code | Should -Be 'InvalidInput'
            $envelope.error.message | Should -Be 'Member is required'
        }

        It 'rejects an invalid -Member at parameter binding, before any of its code runs (no envelope)' {
            # What the script does today: ValidatePattern on the param() block throws while binding, before
            # its try/catch, so a hand run gets a PowerShell error and no JSON envelope. The runner never
            # passes -Member (it sends -RequestBase64, tested above). If the script learns to answer an
            # envelope here, change this test to expect InvalidInput like the request cases.
            $output = $null
            $thrown = $null
            try {
                $output = & $script:ScriptPath -Member 'bad;name'
            } catch {
                $thrown = $_
            }
            $output | Should -BeNullOrEmpty
            $thrown | Should -Not -BeNullOrEmpty
            $thrown.Exception | Should -BeOfType [System.Management.Automation.ParameterBindingException]
            $thrown.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError*'
            $thrown.Exception.ParameterName | Should -Be 'Member'
        }
    }
}

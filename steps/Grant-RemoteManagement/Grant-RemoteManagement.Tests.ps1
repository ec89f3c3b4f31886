# Pester 5 tests of Grant-RemoteManagement.ps1 in real pwsh; nothing here needs Windows.
# Run by `npm run test:ps` (alone) and `npm test` (after the node tests); see scripts/test-ps.ts.
#
# The .ps1 next to this file does not run by itself: its '#monosync-common' marker line is replaced by
# powershell/MonosyncCommon.ps1. The kit (test/powershell/SeamTestKit.psm1) asks the project's own code for
# the assembled text (standaloneScript() of powershell/script-text.ts, through one `node` call per pwsh
# process), so these tests run exactly what the runner sends and `fleet script` writes, and the file also
# works under a bare Invoke-Pester from any directory (it needs `node` on PATH and npm's packages).
#
# Not yet under Set-StrictMode -Version Latest: this script reads $request.params.Member directly, which
# strict mode refuses when the request has no Member (a PowerShellError instead of InvalidInput). Moving it
# to Get-RequestString (MonosyncCommon.ps1) and the seam, as Set-CbtHardening.ps1 does, lets these run strict.

Describe 'Grant-RemoteManagement.ps1' {
    BeforeAll {
        Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '../../test/powershell/SeamTestKit.psm1') -Force
        $script:ScriptPath = Save-StepScript -Name 'Grant-RemoteManagement' -Path (Join-Path -Path $TestDrive -ChildPath 'Grant-RemoteManagement.ps1')
        $script:ScriptText = Get-StepScriptText -Name 'Grant-RemoteManagement' -StrictMode $false
        # Every seam function behind a tripwire: nothing here may touch the Windows it runs on.
        Reset-SeamFake

        function Invoke-StepRequest {
            param([Parameter(Mandatory = $true)] $Request)
            return (Invoke-StepScript -Text $script:ScriptText -Request $Request)
        }

        function ConvertFrom-Envelope {
            param([object[]]$Output)
            return (ConvertFrom-StepEnvelope -Script 'Grant-RemoteManagement' -Output $Output)
        }
    }

    AfterAll {
        Remove-SeamFake
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

# Pester 5: the shared helpers of powershell/MonosyncCommon.ps1, in real pwsh under Set-StrictMode -Version
# Latest. Above all Get-StepErrorInfo, fed with the error records Windows really produces (message text,
# exception type, HResult/ErrorCode, FullyQualifiedErrorId and category as a script's catch sees them): each
# must end in the failure type of domain/failures.ts the operator's fix is written for.

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath 'SeamTestKit.psm1') -Force
    $common = [System.IO.File]::ReadAllText((Join-Path -Path $PSScriptRoot -ChildPath '../../powershell/MonosyncCommon.ps1'))
    # The helpers in a module of their own, as they sit in a step script's module when it runs.
    $script:Common = New-Module -Name MonosyncCommonUnderTest -ScriptBlock ([scriptblock]::Create("Set-StrictMode -Version Latest`n$common`nExport-ModuleMember -Function *")) | Import-Module -PassThru -Force

    function Get-ErrorInfoOf {
        param([System.Management.Automation.ErrorRecord]$Record)
        return (& $script:Common { param($r) Get-StepErrorInfo -Record $r } $Record)
    }

    function New-Request {
        param([string]$Json)
        return (ConvertFrom-Json -InputObject $Json)
    }

    function Get-CaughtRecord {
        # An error record as a script's catch block holds it.
        param([scriptblock]$Action)
        try { & $Action } catch { return $_ }
        throw 'the action did not fail'
    }
}

AfterAll {
    Remove-Module -Name MonosyncCommonUnderTest -Force -ErrorAction SilentlyContinue
    Remove-SeamFake
}

Describe 'Get-StepErrorInfo classifies the records Windows really produces' {
    It '<Case> -> code <Code> (<Type>)' -ForEach @(
        @{ Case = 'Set-Item WSMan:\...\CbtHardeningLevel on a GPO-owned setting (provider keeps only the text of 0x8033808A)'; Code = 'PolicyControlled'; Class = 'policy'; Type = 'PolicyControlled'
            Record = { New-WsmanProviderError -Command SetItem -Message $WinText.CbtPolicy } }
        @{ Case = 'Set-Item WSMan:\...\TrustedHosts on a GPO-owned setting'; Code = 'PolicyControlled'; Class = 'policy'; Type = 'PolicyControlled'
            Record = { New-WsmanProviderError -Command SetItem -Message $WinText.TrustedHostsPolicy } }
        @{ Case = 'Set-Item WSMan: refused by WinRM (fault Code 5, text only)'; Code = '5'; Class = 'auth'; Type = 'AccessDenied'
            Record = { New-WsmanProviderError -Command SetItem -Message $WinText.AccessDenied } }
        @{ Case = 'Get-Item WSMan: not elevated while WinRM is stopped (provider''s own check)'; Code = '5'; Class = 'auth'; Type = 'AccessDenied'
            Record = { New-WsmanProviderError -Command GetItem -Message $WinText.AccessDeniedElevation } }
        @{ Case = 'a WSMan cmdlet''s fault XML, Code 2150858890 (GPO-controlled setting)'; Code = 'PolicyControlled'; Class = 'policy'; Type = 'PolicyControlled'
            Record = { New-WsmanFaultError -Code 2150858890 -Message 'Cannot change GPO controlled setting.' -Command 'Microsoft.WSMan.Management.SetWSManInstanceCommand' } }
        @{ Case = 'a WSMan cmdlet''s fault XML, Code 5'; Code = '5'; Class = 'auth'; Type = 'AccessDenied'
            Record = { New-WsmanFaultError -Code 5 -Message 'Access is denied. ' } }
        @{ Case = 'Test-WSMan: fault XML Code 2150858770 (0x80338012, cannot connect)'; Code = '0x80338012'; Class = 'transient'; Type = 'WinRMUnavailable'
            Record = { New-WsmanFaultError -Code 2150858770 -Message $WinText.WinRMCannotConnect } }
        @{ Case = '[Registry]::GetValue on a key the account may not read (SecurityException in MethodInvocationException)'; Code = '5'; Class = 'auth'; Type = 'AccessDenied'
            Record = { New-MethodInvocationError -Method GetValue -ArgumentCount 3 -InnerException (New-Object -TypeName System.Security.SecurityException -ArgumentList $WinText.RegistryAccessDenied) } }
        @{ Case = 'Get-CimInstance access denied (FQID HRESULT 0x80070005, PermissionDenied)'; Code = '5'; Class = 'auth'; Type = 'AccessDenied'
            Record = { New-CimError -ErrorId 'HRESULT 0x80070005,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand' } }
        @{ Case = 'New-NetFirewallRule access denied (FQID Windows System Error 5)'; Code = '5'; Class = 'auth'; Type = 'AccessDenied'
            Record = { New-CimError -ErrorId 'Windows System Error 5,New-NetFirewallRule' } }
        @{ Case = 'ADSI group.Add access denied (COM E_ACCESSDENIED as UnauthorizedAccessException)'; Code = '5'; Class = 'auth'; Type = 'AccessDenied'
            Record = { $inner = New-Object -TypeName System.UnauthorizedAccessException -ArgumentList "Access is denied.`r`n"; $r = New-MethodInvocationError -Method Add -InnerException $inner; New-WindowsErrorRecord -Exception $r.Exception -ErrorId 'CatchFromBaseAdapterMethodInvokeTI' } }
        @{ Case = 'a COMException 0x80070005 from an automation object'; Code = '5'; Class = 'auth'; Type = 'AccessDenied'
            Record = { New-MethodInvocationError -Method Put -ArgumentCount 3 -InnerException (New-Object -TypeName System.Runtime.InteropServices.COMException -ArgumentList 'Access is denied. (0x80070005 (E_ACCESSDENIED))', -2147024891) } }
        @{ Case = 'a COMException 0x8033808A from WSMan.Automation Put (GPO-controlled)'; Code = 'PolicyControlled'; Class = 'policy'; Type = 'PolicyControlled'
            Record = { New-MethodInvocationError -Method Put -ArgumentCount 3 -InnerException (New-Object -TypeName System.Runtime.InteropServices.COMException -ArgumentList 'Cannot change GPO controlled setting.', -2144108406) } }
        @{ Case = 'Start-Service WinRM not elevated (Win32Exception 5 two levels down)'; Code = '5'; Class = 'auth'; Type = 'AccessDenied'
            Record = { $win32 = New-Object -TypeName System.ComponentModel.Win32Exception -ArgumentList 5; $mid = New-Object -TypeName System.InvalidOperationException -ArgumentList "Cannot open WinRM service on computer '.'.", $win32; $outer = New-Object -TypeName System.InvalidOperationException -ArgumentList "Service 'Windows Remote Management (WS-Management) (WinRM)' cannot be started due to the following error: Cannot open WinRM service on computer '.'.", $mid; New-WindowsErrorRecord -Exception $outer -ErrorId 'CouldNotStartService,Microsoft.PowerShell.Commands.StartServiceCommand' -Category OpenError } }
        @{ Case = 'PSRemotingTransportException ErrorCode 5'; Code = '5'; Class = 'auth'; Type = 'AccessDenied'
            Record = { $e = New-Object -TypeName System.Management.Automation.Remoting.PSRemotingTransportException -ArgumentList 'Connecting to remote server exch01 failed with the following error message : Access is denied.'; $e.ErrorCode = 5; New-WindowsErrorRecord -Exception $e -ErrorId 'AccessDenied,PSSessionStateBroken' -Category OpenError } }
        @{ Case = 'PSRemotingTransportException ErrorCode 0x80338012'; Code = '0x80338012'; Class = 'transient'; Type = 'WinRMUnavailable'
            Record = { $e = New-Object -TypeName System.Management.Automation.Remoting.PSRemotingTransportException -ArgumentList 'Connecting to remote server exch01 failed: WinRM cannot complete the operation.'; $e.ErrorCode = -2144108526; New-WindowsErrorRecord -Exception $e -ErrorId 'WinRMOperationTimeout,PSSessionStateBroken' -Category OpenError } }
        @{ Case = 'PSRemotingTransportException ErrorCode 1326 (logon failure)'; Code = '1326'; Class = 'auth'; Type = 'CredentialsRejected'
            Record = { $e = New-Object -TypeName System.Management.Automation.Remoting.PSRemotingTransportException -ArgumentList 'The user name or password is incorrect.'; $e.ErrorCode = 1326; New-WindowsErrorRecord -Exception $e -ErrorId 'LogonFailure,PSSessionStateBroken' -Category OpenError } }
        @{ Case = 'winrm.cmd output quoting 0x80338029 in its text'; Code = '0x80338029'; Class = 'transient'; Type = 'WinRMTimeout'
            Record = { New-WindowsErrorRecord -Exception (New-Object -TypeName System.Exception -ArgumentList 'WSManFault Error number: -2144108503 0x80338029') -ErrorId 'NativeCommandError' } }
        @{ Case = 'PSRemotingTransportException ErrorCode 0x80090322 (Kerberos: the target principal name is incorrect)'; Code = '0x80090322'; Class = 'permanent'; Type = 'KerberosTargetMismatch'
            Record = { $e = New-Object -TypeName System.Management.Automation.Remoting.PSRemotingTransportException -ArgumentList 'Connecting to remote server exch01 failed with the following error message : WinRM cannot process the request. The following error with errorcode 0x80090322 occurred while using Kerberos authentication: An unknown security error occurred.'; $e.ErrorCode = -2146893022; New-WindowsErrorRecord -Exception $e -ErrorId '-2146893022,PSSessionStateBroken' -Category OpenError } }
        @{ Case = 'winrm.cmd quickconfig on a Public network profile (0x80338169 is configuration, not retried)'; Code = '0x80338169'; Class = 'permanent'; Type = 'PublicNetworkProfile'
            Record = { New-WindowsErrorRecord -Exception (New-Object -TypeName System.Exception -ArgumentList 'WSManFault Error number:  -2144108183 0x80338169 WinRM firewall exception will not work since one of the network connection types on this machine is set to Public.') -ErrorId 'NativeCommandError' } }
        @{ Case = 'a parameter value refused by ValidateSet on assignment'; Code = 'InvalidInput'; Class = 'permanent'; Type = 'InvalidInput'
            Record = { Get-CaughtRecord { [ValidateSet('a')][string]$v = 'b' } } }
        @{ Case = 'anything else'; Code = 'PowerShellError'; Class = 'permanent'; Type = 'PowerShellError'
            Record = { Get-CaughtRecord { throw 'something unexpected' } } }
    ) {
        $info = Get-ErrorInfoOf -Record (& $Record)
        $info.code | Should -Be $Code
        $info.class | Should -Be $Class
        Get-FailureType -Code $info.code -Class $info.class | Should -Be $Type
    }

    It 'keeps the exception type, the error id and the message of the record' {
        $info = Get-ErrorInfoOf -Record (New-WsmanProviderError -Command SetItem -Message $WinText.CbtPolicy)
        $info.exceptionType | Should -Be 'System.InvalidOperationException'
        $info.fqid | Should -Be 'System.InvalidOperationException,Microsoft.PowerShell.Commands.SetItemCommand'
        $info.message | Should -Be $WinText.CbtPolicy
    }

    It 'does not fail on an ErrorCode too large for Int32 (an exception with a uint code)' {
        $exception = New-Object -TypeName System.Exception -ArgumentList 'a WinRM error with an unsigned code'
        Add-Member -InputObject $exception -NotePropertyName ErrorCode -NotePropertyValue ([uint32]2150858770)
        $info = Get-ErrorInfoOf -Record (New-WindowsErrorRecord -Exception $exception -ErrorId 'X')
        $info.code | Should -Be 'PowerShellError'
    }
}

Describe 'ConvertTo-StepCode' {
    It 'turns <Number> into <Code>' -ForEach @(
        @{ Number = 5; Code = '5' }
        @{ Number = -2147024891; Code = '5' }
        @{ Number = 2147942405; Code = '5' }
        @{ Number = -2147023570; Code = '1326' }
        @{ Number = 2150858890; Code = 'PolicyControlled' }
        @{ Number = -2144108526; Code = '0x80338012' }
        @{ Number = 2150858770; Code = '0x80338012' }
        @{ Number = 8344; Code = '8344' }
        @{ Number = -2146233079; Code = '0x80131509' }
    ) {
        & $script:Common { param($n) ConvertTo-StepCode -Number $n } $Number | Should -Be $Code
    }
}

Describe 'reading the request' {
    It 'refuses what is not base64 of a JSON object: <Case>' -ForEach @(
        @{ Case = 'not base64'; Raw = '%%%' }
        @{ Case = 'not JSON'; Json = 'mode=apply' }
        @{ Case = 'a JSON array'; Json = '[{"mode":"plan"}]' }
        @{ Case = 'JSON null'; Json = 'null' }
        @{ Case = 'a JSON string'; Json = '"plan"' }
        @{ Case = 'empty'; Json = '' }
    ) {
        if ($_.ContainsKey('Raw')) { $encoded = $Raw } else { $encoded = ConvertTo-RequestBase64 -Json $Json }
        $record = Get-CaughtRecord { & $script:Common { param($e) Read-MonosyncRequest -Encoded $e } $encoded }
        (Get-ErrorInfoOf -Record $record).code | Should -Be 'InvalidInput'
    }

    It 'Get-RequestString returns a string, $null when absent or null, and refuses other JSON types' {
        $request = New-Request '{"s":"x","e":"","n":null,"a":["x"],"i":1,"b":true,"o":{}}'
        & $script:Common { param($r) Get-RequestString -Object $r -Name s } $request | Should -Be 'x'
        & $script:Common { param($r) Get-RequestString -Object $r -Name e } $request | Should -Be ''
        & $script:Common { param($r) Get-RequestString -Object $r -Name n } $request | Should -BeNullOrEmpty
        & $script:Common { param($r) Get-RequestString -Object $r -Name missing } $request | Should -BeNullOrEmpty
        & $script:Common { param($r) Get-RequestString -Object $null -Name s } $request | Should -BeNullOrEmpty
        foreach ($name in 'a', 'i', 'b', 'o') {
            $record = Get-CaughtRecord { & $script:Common { param($r, $n) Get-RequestString -Object $r -Name $n } $request $name }
            (Get-ErrorInfoOf -Record $record).code | Should -Be 'InvalidInput' -Because "$name is not a string"
        }
    }

    It 'Get-RequestStringList keeps one-element and empty arrays, and refuses null elements and non-arrays' {
        $request = New-Request '{"one":["a"],"two":["a","b"],"empty":[],"null":null,"withNull":["a",null],"scalar":"a","numbers":[1]}'
        $one = & $script:Common { param($r) Get-RequestStringList -Object $r -Name one } $request
        , $one | Should -BeOfType [string[]]
        $one.Count | Should -Be 1
        (& $script:Common { param($r) Get-RequestStringList -Object $r -Name two } $request).Count | Should -Be 2
        $empty = & $script:Common { param($r) Get-RequestStringList -Object $r -Name empty } $request
        , $empty | Should -BeOfType [string[]]
        $empty.Count | Should -Be 0
        (& $script:Common { param($r) Get-RequestStringList -Object $r -Name null } $request).Count | Should -Be 0
        (& $script:Common { param($r) Get-RequestStringList -Object $r -Name missing } $request).Count | Should -Be 0
        foreach ($name in 'withNull', 'scalar', 'numbers') {
            $record = Get-CaughtRecord { & $script:Common { param($r, $n) Get-RequestStringList -Object $r -Name $n } $request $name }
            (Get-ErrorInfoOf -Record $record).code | Should -Be 'InvalidInput' -Because "$name is not an array of strings"
        }
    }

    It 'Assert-RollbackState refuses a state that is missing, null or incomplete: <Json>' -ForEach @(
        @{ Json = 'null' }
        @{ Json = '{}' }
        @{ Json = '[]' }
        @{ Json = '"Relaxed"' }
        @{ Json = '{"level":"Relaxed"}' }
        @{ Json = '{"policyControlled":false}' }
        @{ Json = '{"level":null,"policyControlled":false}' }
        @{ Json = '{"level":["Relaxed"],"policyControlled":false}' }
        @{ Json = '{"level":"Relaxed","policyControlled":"false"}' }
    ) {
        $state = ConvertFrom-Json -InputObject $Json
        $record = Get-CaughtRecord { & $script:Common { param($s) Assert-RollbackState -State $s -Script 'Set-CbtHardening' -Strings @('level') -Booleans @('policyControlled') } $state }
        $info = Get-ErrorInfoOf -Record $record
        $info.code | Should -Be 'InvalidInput'
        $info.message | Should -BeLike "*needs the step's earlier state*"
    }

    It 'Assert-RollbackState accepts the complete state' {
        $state = New-Request '{"level":"Relaxed","policyControlled":false}'
        { & $script:Common { param($s) Assert-RollbackState -State $s -Script 'Set-CbtHardening' -Strings @('level') -Booleans @('policyControlled') } $state } | Should -Not -Throw
    }

    It 'Read-StepRequest takes the mode and saved state of a request, or of a run by hand' {
        $encoded = ConvertTo-RequestBase64 -Json '{"mode":"Apply","params":{"Level":"Strict"},"rollbackTo":{"level":"Relaxed"}}'
        $fromWorker = & $script:Common { param($e) Read-StepRequest -Encoded $e -Mode 'plan' } $encoded
        $fromWorker.Mode | Should -BeExactly 'apply'
        $fromWorker.RollbackTo.level | Should -Be 'Relaxed'
        $fromWorker.Request.params.Level | Should -Be 'Strict'
        $byHand = & $script:Common { Read-StepRequest -Encoded '' -Mode 'ROLLBACK' -RollbackToJson '{"level":"None"}' }
        $byHand.Mode | Should -BeExactly 'rollback'
        $byHand.RollbackTo.level | Should -Be 'None'
        $byHand.Request | Should -BeNullOrEmpty
        (& $script:Common { Read-StepRequest -Encoded '' -Mode 'plan' }).RollbackTo | Should -BeNullOrEmpty
    }

    It 'Read-StepRequest refuses a mode as the scripts'' -Mode does: <Case>' -ForEach @(
        @{ Case = 'unknown (ValidateSet)'; Json = '{"mode":"destroy","params":{}}'; Exception = 'System.Management.Automation.ValidationMetadataException' }
        @{ Case = 'missing (ValidateSet)'; Json = '{"params":{}}'; Exception = 'System.Management.Automation.ValidationMetadataException' }
        @{ Case = 'with a zero-width space (ordinal check)'; Json = '{"mode":"apply\u200b","params":{}}'; Exception = 'System.InvalidOperationException' }
        @{ Case = 'not a string'; Json = '{"mode":["apply"],"params":{}}'; Exception = 'System.InvalidOperationException' }
    ) {
        $encoded = ConvertTo-RequestBase64 -Json $Json
        $info = Get-ErrorInfoOf -Record (Get-CaughtRecord { & $script:Common { param($e) Read-StepRequest -Encoded $e -Mode 'plan' } $encoded })
        $info.code | Should -Be 'InvalidInput'
        $info.exceptionType | Should -Be $Exception
    }

    It 'Get-MonosyncRequestParams gives the params when they hold only the step''s parameters, and $null for a run by hand' {
        & $script:Common { $script:ScriptName = 'Set-CbtHardening' }
        $step = & $script:Common { param($e) Read-StepRequest -Encoded $e } (ConvertTo-RequestBase64 -Json '{"mode":"plan","params":{"Level":"Strict"}}')
        (& $script:Common { param($s) Get-MonosyncRequestParams -Step $s -Names @('Level', 'Other') } $step).Level | Should -Be 'Strict'
        $none = & $script:Common { param($e) Read-StepRequest -Encoded $e } (ConvertTo-RequestBase64 -Json '{"mode":"plan","params":{}}')
        $empty = & $script:Common { param($s) Get-MonosyncRequestParams -Step $s -Names @() } $none
        $empty | Should -BeOfType [System.Management.Automation.PSCustomObject]
        $byHand = & $script:Common { Read-StepRequest -Mode 'plan' }
        & $script:Common { param($s) Get-MonosyncRequestParams -Step $s -Names @('Level') } $byHand | Should -BeNullOrEmpty
    }

    It 'Get-MonosyncRequestParams refuses params that <Case>' -ForEach @(
        @{ Case = 'are missing'; Json = '{"mode":"plan"}'; Message = 'params must be a JSON object {Level}' }
        @{ Case = 'are null'; Json = '{"mode":"plan","params":null}'; Message = 'params must be a JSON object {Level}' }
        @{ Case = 'are an empty array'; Json = '{"mode":"plan","params":[]}'; Message = 'params must be a JSON object {Level}' }
        @{ Case = 'are a one-element array'; Json = '{"mode":"plan","params":[{"Level":"Strict"}]}'; Message = 'params must be a JSON object {Level}' }
        @{ Case = 'are a string'; Json = '{"mode":"plan","params":"Strict"}'; Message = 'params must be a JSON object {Level}' }
        @{ Case = 'hold a member the step does not take'; Json = '{"mode":"plan","params":{"Level":"Strict","Force":true}}'; Message = 'params holds a member Set-CbtHardening does not take (params is {Level})' }
        @{ Case = 'spell a parameter in another case'; Json = '{"mode":"plan","params":{"level":"Strict"}}'; Message = 'params holds a member Set-CbtHardening does not take (params is {Level})' }
    ) {
        & $script:Common { $script:ScriptName = 'Set-CbtHardening' }
        $step = & $script:Common { param($e) Read-StepRequest -Encoded $e } (ConvertTo-RequestBase64 -Json $Json)
        $info = Get-ErrorInfoOf -Record (Get-CaughtRecord { & $script:Common { param($s) Get-MonosyncRequestParams -Step $s -Names @('Level') } $step })
        $info.code | Should -Be 'InvalidInput'
        $info.message | Should -BeExactly $Message
    }

    It 'Get-RequestString -Required, Get-RequestBoolean and Test-RequestMember tell absent, null and the wrong type apart' {
        $params = New-Request '{"s":"x","n":null,"t":true,"f":false,"text":"false","zero":0}'
        & $script:Common { param($p) Get-RequestString -Object $p -Name s -Required } $params | Should -Be 'x'
        foreach ($name in 'n', 'missing') {
            $info = Get-ErrorInfoOf -Record (Get-CaughtRecord { & $script:Common { param($p, $n) Get-RequestString -Object $p -Name $n -Required } $params $name })
            $info.message | Should -BeExactly "$name is required"
        }
        & $script:Common { param($p) Get-RequestBoolean -Object $p -Name t } $params | Should -BeTrue
        & $script:Common { param($p) Get-RequestBoolean -Object $p -Name f } $params | Should -BeFalse
        foreach ($name in 'text', 'zero', 'n', 'missing') {
            $info = Get-ErrorInfoOf -Record (Get-CaughtRecord { & $script:Common { param($p, $n) Get-RequestBoolean -Object $p -Name $n } $params $name })
            $info.message | Should -BeExactly "$name must be true or false" -Because "$name is not a JSON boolean"
        }
        & $script:Common { param($p) Test-RequestMember -Object $p -Name n } $params | Should -BeTrue
        & $script:Common { param($p) Test-RequestMember -Object $p -Name missing } $params | Should -BeFalse
        & $script:Common { Test-RequestMember -Object @('n') -Name n } | Should -BeFalse
    }

    It 'Write-StepResult reports the mode ''<Given>'' as <Reported>: the envelope carries only a valid mode' -ForEach @(
        @{ Given = "apply$([char]0x200B)"; Reported = 'plan' }
        @{ Given = 'destroy'; Reported = 'plan' }
        @{ Given = ''; Reported = 'plan' }
        @{ Given = 'APPLY'; Reported = 'apply' }
        @{ Given = 'rollback'; Reported = 'rollback' }
    ) {
        & $script:Common { $script:ScriptName = 'Set-CbtHardening'; $script:Target = 'exch01.corp.example' }
        $line = & $script:Common { param($m) Write-StepResult -StepMode $m -Compliant $true -Changed $false -Before $null -After $null } $Given
        (ConvertFrom-JsonDocument -Json $line -AsPSCustomObject).mode | Should -BeExactly $Reported
    }
}

Describe 'Get-LocalFqdn goes through the seam' {
    AfterEach {
        Remove-SeamFake
    }

    It 'is the DNS name of the machine, lower case' {
        Reset-SeamFake -ComputerName 'EXCH02' -Fqdn 'EXCH02.Corp.Example'
        & $script:Common { Get-LocalFqdn } | Should -Be 'exch02.corp.example'
        @(Get-SeamCall -Name Resolve-WinDnsHostName)[0].Parameters.Name | Should -Be 'EXCH02'
    }

    It 'falls back on the computer name when DNS fails' {
        Reset-SeamFake -ComputerName 'EXCH02'
        Set-SeamFake -Name Resolve-WinDnsHostName -ScriptBlock { param($Name) throw (New-MethodInvocationError -Method GetHostEntry -InnerException (New-Object -TypeName System.Net.Sockets.SocketException -ArgumentList 11001)) }
        & $script:Common { Get-LocalFqdn } | Should -Be 'exch02'
    }
}

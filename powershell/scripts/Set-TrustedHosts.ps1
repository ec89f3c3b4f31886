<#
.SYNOPSIS
    Adds entries to the WinRM client's TrustedHosts list without dropping the ones already there
    (step 3.5).
.DESCRIPTION
    TrustedHosts is a client setting: it matters only on the machine that opens connections. Entries
    are merged case-insensitively in their existing order; '*' replaces the whole list, and a list that
    is already '*' covers every entry. The full value is written with Set-Item -Force (appending to or
    with '*' throws). A Group Policy under HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Client owns
    the list when it sets TrustedHosts; apply then fails with PolicyControlled.
.PARAMETER Mode
    plan, apply or rollback (rollback writes back the exact earlier value).
.PARAMETER Entries
    Host names, IP addresses, '*.domain' patterns or '*'.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON.
.EXAMPLE
    .\Set-TrustedHosts.ps1 -Mode plan -Entries 'exch01.corp.example','exch02.corp.example'
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
    [ValidatePattern('^(?:\*|<local>|(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[0-9A-Fa-f:.]{2,45})$')]
    [string[]]$Entries,
    [string]$RollbackToJson
)

#region monosync-common
# Inlined in every script on purpose: Invoke-Command -FilePath ships this one file to the server, so
# nothing can be dot-sourced there. Keep the copies identical (test/powershell-scripts.test.ts checks).
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
# Windows PowerShell 5.1 would otherwise serialize arrays as {"value":[...],"Count":n}.
Remove-TypeData -TypeName System.Array -ErrorAction SilentlyContinue
$script:Warnings = New-Object -TypeName 'System.Collections.Generic.List[string]'
$script:Evidence = [ordered]@{}

function Get-LocalFqdn {
    try {
        return ([System.Net.Dns]::GetHostEntry([string]$env:COMPUTERNAME).HostName).ToLowerInvariant()
    } catch {
        return ([string]$env:COMPUTERNAME).ToLowerInvariant()
    }
}

function Read-MonosyncRequest {
    param([Parameter(Mandatory = $true)][string]$Encoded)
    # Values arrive as data, never as command text: base64 of UTF-8 JSON {mode, params, rollbackTo}.
    $json = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($Encoded))
    return (ConvertFrom-Json -InputObject $json)
}

function Test-RequestParam {
    param($Request, [string]$Name)
    return ($null -ne $Request.params -and @($Request.params.PSObject.Properties.Name) -contains $Name)
}

function New-StepError {
    param([string]$Code, [string]$Class, [string]$Message)
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    $exception.Data['MonosyncCode'] = $Code
    $exception.Data['MonosyncClass'] = $Class
    return $exception
}

function Get-StepErrorInfo {
    param([System.Management.Automation.ErrorRecord]$Record)
    $exception = $Record.Exception
    while ($exception -is [System.Management.Automation.MethodInvocationException] -and $null -ne $exception.InnerException) {
        $exception = $exception.InnerException
    }
    $type = $exception.GetType().FullName
    $fqid = [string]$Record.FullyQualifiedErrorId
    $message = [string]$exception.Message
    $winrmCode = [regex]::Match($message, '0x8033[0-9A-Fa-f]{4}')
    $adErrorCode = 0
    if ($null -ne $exception.PSObject.Properties['ErrorCode']) { $adErrorCode = [int]$exception.ErrorCode }
    # Stable identifiers first (codes, exception types, error ids); en-US message text last.
    if ($exception.Data.Contains('MonosyncCode')) {
        $code = [string]$exception.Data['MonosyncCode']; $class = [string]$exception.Data['MonosyncClass']
    } elseif ($exception -is [System.Management.Automation.ValidationMetadataException] -or
        $exception -is [System.Management.Automation.ParameterBindingException]) {
        $code = 'InvalidInput'; $class = 'permanent'
    } elseif ($type -eq 'Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException') {
        $code = 'ADIdentityNotFound'; $class = 'permanent'
    } elseif ($type -eq 'Microsoft.ActiveDirectory.Management.ADServerDownException') {
        $code = 'ADServerDown'; $class = 'transient'
    } elseif ($adErrorCode -eq 8344 -or $message -like '*Insufficient access rights*') {
        $code = '8344'; $class = 'permanent'
    } elseif ($fqid -like 'Modules_ModuleNotFound*') {
        $code = 'ModuleMissing'; $class = 'precondition'
    } elseif ($exception -is [System.Management.Automation.Remoting.PSRemotingTransportException] -and $exception.ErrorCode -eq 5) {
        $code = '5'; $class = 'auth'
    } elseif ($exception -is [System.Management.Automation.Remoting.PSRemotingTransportException] -and $exception.ErrorCode -ne 0) {
        $code = '0x{0:X8}' -f $exception.ErrorCode; $class = 'transient'
    } elseif ($winrmCode.Success) {
        $code = $winrmCode.Value; $class = 'transient'
    } elseif ($exception -is [System.UnauthorizedAccessException] -or $fqid -like 'AccessDenied*' -or $exception.HResult -eq -2147024891) {
        $code = '5'; $class = 'auth'
    } elseif ($exception -is [System.Security.Principal.IdentityNotMappedException]) {
        $code = 'PrincipalNotFound'; $class = 'permanent'
    } elseif ($exception -is [System.TimeoutException]) {
        $code = 'Timeout'; $class = 'transient'
    } else {
        $code = 'PowerShellError'; $class = 'permanent'
    }
    return [ordered]@{ class = $class; code = $code; message = $message; fqid = $fqid; exceptionType = $type }
}

function Write-StepResult {
    param([string]$StepMode, [bool]$Ok = $true, [bool]$Compliant, [bool]$Changed, $Before, $After, $ErrorInfo = $null)
    $envelope = [ordered]@{
        schema    = 'monosync.onboard.step/v1'
        script    = $script:ScriptName
        target    = $script:Target
        mode      = $StepMode
        ok        = $Ok
        compliant = $Compliant
        changed   = $Changed
        before    = $Before
        after     = $After
        evidence  = $script:Evidence
        warnings  = [string[]]$script:Warnings.ToArray()
    }
    if ($null -ne $ErrorInfo) { $envelope['error'] = $ErrorInfo }
    # One document on one line: the runner reads the last JSON line of the output.
    ConvertTo-Json -InputObject $envelope -Compress -Depth 8
}

function Write-StepFailure {
    param([System.Management.Automation.ErrorRecord]$Record, [string]$StepMode)
    Write-StepResult -StepMode $StepMode -Ok $false -Compliant $false -Changed $false -Before $null -After $null -ErrorInfo (Get-StepErrorInfo -Record $Record)
}
#endregion monosync-common

$script:ScriptName = 'Set-TrustedHosts'
$script:Target = Get-LocalFqdn
$SettingPath = 'WSMan:\localhost\Client\TrustedHosts'
$PolicyPath = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Client'

function Get-TrustedHostsState {
    $policy = Get-ItemProperty -Path $PolicyPath -ErrorAction SilentlyContinue
    $controlled = ($null -ne $policy -and ($null -ne $policy.PSObject.Properties['TrustedHosts'] -or $null -ne $policy.PSObject.Properties['TrustedHostsList']))
    return [ordered]@{ value = [string](Get-Item -Path $SettingPath).Value; policyControlled = $controlled }
}

function Merge-TrustedHosts {
    param([string]$Current, [string[]]$Add)
    $list = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($entry in ($Current -split ',')) { if ($entry.Trim()) { $list.Add($entry.Trim()) } }
    if ($list -contains '*') { return '*' }
    if ($Add -contains '*') { return '*' }
    foreach ($entry in $Add) {
        # -contains compares case-insensitively and literally, so a '*.domain' entry is not a wildcard here.
        if ($list -notcontains $entry) { $list.Add($entry) }
    }
    return ($list -join ',')
}

try {
    $RollbackTo = $null
    if ($RequestBase64) {
        $request = Read-MonosyncRequest -Encoded $RequestBase64
        $Mode = [string]$request.mode
        $Entries = [string[]]@($request.params.Entries)
        $RollbackTo = $request.rollbackTo
    } elseif ($RollbackToJson) {
        $RollbackTo = ConvertFrom-Json -InputObject $RollbackToJson
    }

    $before = Get-TrustedHostsState
    if ($Mode -eq 'rollback') {
        $want = [string]$RollbackTo.value
    } else {
        if (@($Entries).Count -eq 0) { throw (New-StepError -Code 'InvalidInput' -Class 'permanent' -Message 'Entries needs at least one entry') }
        $want = Merge-TrustedHosts -Current $before.value -Add $Entries
        if ($want -eq '*') { $script:Warnings.Add("TrustedHosts '*' skips the server identity check for NTLM to every host, for every user of this machine") }
    }
    $compliant = ($before.value -eq $want)
    if ($compliant -or $Mode -eq 'plan') {
        if (-not $compliant -and $before.policyControlled) { $script:Warnings.Add('a Group Policy sets TrustedHosts; apply will fail until the GPO changes') }
        Write-StepResult -StepMode $Mode -Compliant $compliant -Changed (-not $compliant) -Before $before -After ([ordered]@{ value = $want; policyControlled = $before.policyControlled })
        return
    }
    if ($before.policyControlled) {
        throw (New-StepError -Code 'PolicyControlled' -Class 'policy' -Message "TrustedHosts is set by Group Policy ($PolicyPath); change the GPO or set it to Not Configured")
    }
    Set-Item -Path $SettingPath -Value $want -Force
    Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After (Get-TrustedHostsState)
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}

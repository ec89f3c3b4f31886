<#
.SYNOPSIS
    Sets or clears unconstrained Kerberos delegation (TrustedForDelegation) on an Exchange server's
    computer object (step 2).
.DESCRIPTION
    Runs where the ActiveDirectory module is (an AD management host or a DC), never inside a session
    on the Exchange server (that would be a second hop to AD Web Services). The object is found by
    sAMAccountName (NAME$) with -Identity, never by a hard-coded DN or a string-built filter, and every
    read and write is pinned to one DC so the read-back sees the write. Reports TrustedForDelegation,
    TrustedToAuthForDelegation, msDS-AllowedToDelegateTo and resource-based delegation.
.PARAMETER Mode
    plan: read and predict. apply: set TrustedForDelegation to the wanted value. rollback: restore
    the value of the earlier state (-RollbackToJson).
.PARAMETER ComputerName
    NetBIOS name of the Exchange server (1-15 letters, digits or '-').
.PARAMETER DomainController
    DC to read and write on; default: one found by the DC locator (AD Web Services).
.PARAMETER TrustedForDelegation
    The wanted value. $true is unconstrained delegation, a recorded risk decision.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON.
.EXAMPLE
    .\Enable-KerberosDelegation.ps1 -Mode plan -ComputerName EXCH01 -TrustedForDelegation $true -DomainController dc01.corp.example
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
    [ValidatePattern('^(?!\d+$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,13}[A-Za-z0-9])?$')]
    [string]$ComputerName,
    [ValidatePattern('^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')]
    [string]$DomainController,
    [bool]$TrustedForDelegation = $true,
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

$script:ScriptName = 'Enable-KerberosDelegation'
$script:Target = Get-LocalFqdn
$DelegationProperties = @('TrustedForDelegation', 'TrustedToAuthForDelegation', 'msDS-AllowedToDelegateTo', 'PrincipalsAllowedToDelegateToAccount', 'DNSHostName', 'ObjectGUID')

function Get-DelegationState {
    param([string]$Identity, [string]$Server)
    $computer = Get-ADComputer -Identity $Identity -Server $Server -Properties $DelegationProperties
    $state = [ordered]@{
        distinguishedName          = [string]$computer.DistinguishedName
        trustedForDelegation       = [bool]$computer.TrustedForDelegation
        trustedToAuthForDelegation = [bool]$computer.TrustedToAuthForDelegation
        allowedToDelegateTo        = [string[]]@($computer.'msDS-AllowedToDelegateTo' | ForEach-Object { [string]$_ })
        resourceBasedDelegation    = (@($computer.PrincipalsAllowedToDelegateToAccount).Count -gt 0)
    }
    return @{ State = $state; Guid = [string]$computer.ObjectGUID }
}

try {
    $RollbackTo = $null
    if ($RequestBase64) {
        $request = Read-MonosyncRequest -Encoded $RequestBase64
        $Mode = [string]$request.mode
        $ComputerName = [string]$request.params.ComputerName
        if (Test-RequestParam -Request $request -Name 'DomainController') { $DomainController = [string]$request.params.DomainController }
        $TrustedForDelegation = [bool]$request.params.TrustedForDelegation
        $RollbackTo = $request.rollbackTo
    } elseif ($RollbackToJson) {
        $RollbackTo = ConvertFrom-Json -InputObject $RollbackToJson
    }
    if (-not $ComputerName) { throw (New-StepError -Code 'InvalidInput' -Class 'permanent' -Message 'ComputerName is required') }

    Import-Module -Name ActiveDirectory -ErrorAction Stop -Verbose:$false
    $server = $DomainController
    if (-not $server) { $server = [string](@((Get-ADDomainController -Discover -Service ADWS).HostName)[0]) }
    $script:Evidence['server'] = $server
    # The validated name plus '$' is the sAMAccountName; -Identity takes it without any filter text.
    $sam = $ComputerName.ToUpperInvariant() + '$'
    $script:Evidence['samAccountName'] = $sam

    $read = Get-DelegationState -Identity $sam -Server $server
    $before = $read.State
    $script:Evidence['objectGuid'] = $read.Guid
    if ($before.trustedToAuthForDelegation -or $before.allowedToDelegateTo.Count -gt 0) {
        $script:Warnings.Add('the computer object also carries constrained delegation settings; they are reported, not changed')
    }

    $want = $TrustedForDelegation
    if ($Mode -eq 'rollback') { $want = [bool]$RollbackTo.trustedForDelegation }
    $compliant = ($before.trustedForDelegation -eq $want)

    if ($Mode -eq 'plan' -or $compliant) {
        $predicted = [ordered]@{}
        foreach ($key in $before.Keys) { $predicted[$key] = $before[$key] }
        $predicted['trustedForDelegation'] = $want
        Write-StepResult -StepMode $Mode -Compliant $compliant -Changed (-not $compliant -and $Mode -eq 'plan') -Before $before -After $predicted
        return
    }

    Set-ADAccountControl -Identity $read.Guid -Server $server -TrustedForDelegation $want
    $after = (Get-DelegationState -Identity $read.Guid -Server $server).State
    if ($want) { $script:Warnings.Add('purge Kerberos tickets on the worker (klist purge) before testing the second hop; other DCs see the change after replication') }
    Write-StepResult -StepMode $Mode -Compliant $compliant -Changed $true -Before $before -After $after
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}

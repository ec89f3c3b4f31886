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

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

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

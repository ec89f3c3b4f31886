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
    # \z, not $: '$' also matches before a trailing newline. The script checks both again case-sensitively
    # (ValidatePattern ignores case, and then [A-Za-z] also takes the Kelvin sign U+212A).
    [ValidatePattern('^(?!\d+\z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,13}[A-Za-z0-9])?\z')]
    [string]$ComputerName,
    [ValidatePattern('^(?=.{1,253}\z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?!\d+\z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\z')]
    [string]$DomainController,
    [bool]$TrustedForDelegation = $true,
    [string]$RollbackToJson
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Enable-KerberosDelegation'
$script:Target = Get-LocalFqdn
$DelegationProperties = [string[]]@('TrustedForDelegation', 'TrustedToAuthForDelegation', 'msDS-AllowedToDelegateTo', 'PrincipalsAllowedToDelegateToAccount', 'DNSHostName', 'ObjectGUID')
# What the contract sends (domain/validators.ts computerNameSchema and fqdnSchema), compared case-sensitively.
$ComputerNamePattern = '^(?!\d+\z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,13}[A-Za-z0-9])?\z'
$DomainControllerPattern = '^(?=.{1,253}\z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?!\d+\z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\z'
$KnownParams = @('ComputerName', 'DomainController', 'TrustedForDelegation')

function Get-ADValue {
    # A property of an AD object, $null when the object does not carry it (safe under Set-StrictMode).
    param($Object, [string]$Name)
    if ($null -eq $Object) { return $null }
    $property = $Object.PSObject.Properties[$Name]
    if ($null -eq $property) { return $null }
    return , $property.Value
}

function Get-ADValueList {
    # A multi-valued property as strings: @() when absent, null or empty (never one empty string).
    param($Object, [string]$Name)
    $list = New-Object -TypeName 'System.Collections.Generic.List[string]'
    # No @() around the call: it would wrap the collection Get-ADValue returns whole into a one-element array.
    $values = Get-ADValue -Object $Object -Name $Name
    foreach ($item in $values) {
        if ($null -ne $item) { $list.Add([string]$item) }
    }
    return , [string[]]$list.ToArray()
}

function Get-DelegationState {
    param([string]$Identity, [string]$Server)
    $computer = Get-WinADComputer -Identity $Identity -Server $Server -Properties $DelegationProperties
    $state = [ordered]@{
        distinguishedName          = [string](Get-ADValue -Object $computer -Name 'DistinguishedName')
        trustedForDelegation       = ((Get-ADValue -Object $computer -Name 'TrustedForDelegation') -eq $true)
        trustedToAuthForDelegation = ((Get-ADValue -Object $computer -Name 'TrustedToAuthForDelegation') -eq $true)
        allowedToDelegateTo        = (Get-ADValueList -Object $computer -Name 'msDS-AllowedToDelegateTo')
        resourceBasedDelegation    = ((Get-ADValueList -Object $computer -Name 'PrincipalsAllowedToDelegateToAccount').Count -gt 0)
    }
    return @{ State = $state; Guid = [string](Get-ADValue -Object $computer -Name 'ObjectGUID') }
}

try {
    $RollbackTo = $null
    if ($RequestBase64) {
        $request = Read-MonosyncRequest -Encoded $RequestBase64
        # Assigning re-runs the parameters' Validate* attributes: a bad value throws InvalidInput here.
        $Mode = Get-RequestString -Object $request -Name 'mode'
        $params = Get-RequestMember -Object $request -Name 'params'
        if ($params -isnot [System.Management.Automation.PSCustomObject]) { throw (New-InvalidInput -Message 'params must be an object') }
        foreach ($name in @($params.PSObject.Properties.Name)) {
            if ($null -eq (Find-OrdinalMatch -Set $KnownParams -Value $name)) { throw (New-InvalidInput -Message "params holds an unknown parameter ($($KnownParams -join ', ') only)") }
        }
        $ComputerName = Get-RequestString -Object $params -Name 'ComputerName'
        if (Test-RequestParam -Request $request -Name 'DomainController') {
            # Present means a DNS name: null is not "absent" (the contract's zod schema refuses it too).
            $dc = Get-RequestString -Object $params -Name 'DomainController'
            if ($null -eq $dc) { throw (New-InvalidInput -Message 'DomainController must be a DNS name') }
            $DomainController = $dc
        }
        # A JSON boolean only: [bool]'false' is $true, and a missing value would have cleared the flag.
        $wanted = Get-RequestMember -Object $params -Name 'TrustedForDelegation'
        if ($wanted -isnot [bool]) { throw (New-InvalidInput -Message 'TrustedForDelegation must be true or false') }
        $TrustedForDelegation = $wanted
        $RollbackTo = Get-RequestMember -Object $request -Name 'rollbackTo'
    } elseif ($RollbackToJson) {
        $RollbackTo = ConvertFrom-RollbackJson -Json $RollbackToJson
    }
    # Refused: reported as plan (the envelope carries only a valid mode).
    try { $Mode = Resolve-StepMode -Mode $Mode } catch { $Mode = 'plan'; throw }
    if (-not $ComputerName) { throw (New-InvalidInput -Message 'ComputerName is required') }
    if ($ComputerName -cnotmatch $ComputerNamePattern) { throw (New-InvalidInput -Message "ComputerName must be 1-15 letters, digits or '-', not only digits") }
    if ($DomainController -and $DomainController -cnotmatch $DomainControllerPattern) { throw (New-InvalidInput -Message 'DomainController must be a DNS name') }

    if ($Mode -eq 'rollback') {
        # Never act without the saved state ('before' of the earlier plan): a missing value once read as
        # $false and cleared the flag. Every field, with its JSON type; strings without control characters.
        Assert-RollbackState -State $RollbackTo -Script $script:ScriptName -Strings @('distinguishedName') -Booleans @('trustedForDelegation', 'trustedToAuthForDelegation', 'resourceBasedDelegation')
        if ((Get-RequestMember -Object $RollbackTo -Name 'allowedToDelegateTo') -isnot [System.Array]) {
            throw (New-InvalidInput -Message "$($script:ScriptName) -Mode rollback needs the step's earlier state (rollbackTo.allowedToDelegateTo must be an array of strings)")
        }
        $savedDn = Get-RequestString -Object $RollbackTo -Name 'distinguishedName' -Label 'rollbackTo.distinguishedName'
        $null = Get-RequestStringList -Object $RollbackTo -Name 'allowedToDelegateTo' -Label 'rollbackTo.allowedToDelegateTo'
        $want = [bool]$RollbackTo.trustedForDelegation
    } else {
        $want = $TrustedForDelegation
    }

    Import-WinADModule
    $server = $DomainController
    if (-not $server) {
        # HostName is a collection; indexing an empty one fails under strict mode, so count first.
        $names = Get-ADValueList -Object (Find-WinADDomainController) -Name 'HostName'
        if ($names.Count -gt 0) { $server = $names[0] }
    }
    if (-not $server) { throw (New-StepError -Code 'ADServerDown' -Class 'transient' -Message 'the DC locator found no domain controller running AD Web Services') }
    $script:Evidence['domainController'] = $server
    # The validated name plus '$' is the sAMAccountName; -Identity takes it without any filter text.
    $sam = $ComputerName.ToUpperInvariant() + '$'
    $script:Evidence['samAccountName'] = $sam

    $read = Get-DelegationState -Identity $sam -Server $server
    $before = $read.State
    $script:Evidence['objectGuid'] = $read.Guid
    if ($Mode -eq 'rollback' -and -not [string]::Equals($savedDn, $before.distinguishedName, [System.StringComparison]::OrdinalIgnoreCase)) {
        # The saved state is another object's (or the object moved since): nothing of it is this object's to restore.
        throw (New-InvalidInput -Message "rollbackTo is the state of $savedDn, not of $($before.distinguishedName)")
    }
    if ($before.trustedToAuthForDelegation -or $before.allowedToDelegateTo.Count -gt 0 -or $before.resourceBasedDelegation) {
        $script:Warnings.Add('the computer object also carries constrained or resource-based delegation settings; they are reported, not changed')
    }

    $compliant = ($before.trustedForDelegation -eq $want)
    if ($Mode -eq 'plan' -or $compliant) {
        $predicted = [ordered]@{}
        foreach ($key in $before.Keys) { $predicted[$key] = $before[$key] }
        $predicted['trustedForDelegation'] = $want
        Write-StepResult -StepMode $Mode -Compliant $compliant -Changed (-not $compliant) -Before $before -After $predicted
        return
    }

    # By objectGUID: the object read above, even if it is renamed meanwhile.
    Set-WinADAccountControl -Identity $read.Guid -Server $server -TrustedForDelegation $want
    $after = (Get-DelegationState -Identity $read.Guid -Server $server).State
    if ($after.trustedForDelegation -ne $want) {
        throw (New-StepError -Code 'VerificationFailed' -Class 'permanent' -Message "TrustedForDelegation still reads $($after.trustedForDelegation) on $server after the change")
    }
    if ($want) { $script:Warnings.Add('purge Kerberos tickets on the worker (klist purge) before testing the second hop; other DCs see the change after replication') }
    Write-StepResult -StepMode $Mode -Compliant $false -Changed $true -Before $before -After $after
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}

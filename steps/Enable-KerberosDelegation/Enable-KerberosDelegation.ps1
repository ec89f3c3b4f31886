<#
.SYNOPSIS
    Sets or clears unconstrained Kerberos delegation (TrustedForDelegation) on an Exchange server's
    computer object (step 2).
.DESCRIPTION
    Runs on the AD management host (the AD worker's own PowerShell, with the ActiveDirectory module), never
    inside a session on the Exchange server (a second hop to AD Web Services) and never by remoting into a
    DC (no admin rights on a DC are needed: every cmdlet names the DC with -Server). The object is found by
    sAMAccountName (NAME$) with -Identity, never by a hard-coded DN or a string-built filter, and must be
    the server's own: its DNSHostName must be the server's FQDN (a 15-character NetBIOS name can be a
    truncation shared with another server, or a stale object of a host long gone). Every read and write is
    pinned to one DC so the read-back sees the write, not a replica that has not replicated it yet.
    Setting delegation is refused when it could not work for Monosync: its service account in Protected
    Users or marked "Account is sensitive and cannot be delegated" never forwards a ticket. Reports
    TrustedForDelegation, TrustedToAuthForDelegation, msDS-AllowedToDelegateTo and resource-based delegation.
.PARAMETER Mode
    plan: read and predict. apply: set TrustedForDelegation to the wanted value. rollback: restore
    the value of the earlier state (-RollbackToJson).
.PARAMETER ComputerName
    NetBIOS name of the Exchange server (1-15 letters, digits or '-'): its sAMAccountName without '$'.
.PARAMETER Fqdn
    The Exchange server's FQDN: the DNSHostName the computer object must carry.
.PARAMETER ServiceAccount
    The account Monosync connects as (DOMAIN\user or user@dns.domain); needed to set delegation, which is
    refused when this account cannot be delegated.
.PARAMETER DomainController
    DC to read and write on; default: one found by the DC locator (AD Web Services), then used for every call.
.PARAMETER TrustedForDelegation
    The wanted value. $true is unconstrained delegation, a recorded risk decision.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.PARAMETER RollbackToJson
    For rollback by hand: the earlier 'before' state as JSON.
.EXAMPLE
    .\Enable-KerberosDelegation.ps1 -Mode plan -ComputerName EXCH01 -Fqdn exch01.corp.example -ServiceAccount 'CORP\monosync_svc' -TrustedForDelegation $true -DomainController dc01.corp.example
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
    [string]$Fqdn,
    # The accounts accountSchema (domain/validators.ts) accepts, as Grant-RemoteManagement takes them.
    [ValidatePattern('(?-i)^(?:[A-Za-z0-9][A-Za-z0-9-]{0,14}\\[A-Za-z0-9](?:[A-Za-z0-9._-]{0,18}[A-Za-z0-9_-])?|[A-Za-z0-9](?:[A-Za-z0-9._-]{0,18}[A-Za-z0-9_-])?@(?=[A-Za-z0-9.-]{1,253}\z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)\z')]
    [string]$ServiceAccount,
    [ValidatePattern('^(?=.{1,253}\z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?!\d+\z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\z')]
    [string]$DomainController,
    [bool]$TrustedForDelegation = $true,
    [string]$RollbackToJson
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Enable-KerberosDelegation'
$script:Target = Get-LocalFqdn
$DelegationProperties = [string[]]@('TrustedForDelegation', 'TrustedToAuthForDelegation', 'msDS-AllowedToDelegateTo', 'PrincipalsAllowedToDelegateToAccount', 'DNSHostName', 'ObjectGUID')
$UserProperties = [string[]]@('AccountNotDelegated', 'tokenGroups')
# What the contract sends (domain/validators.ts computerNameSchema, fqdnSchema and accountSchema), compared case-sensitively.
$ComputerNamePattern = '^(?!\d+\z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,13}[A-Za-z0-9])?\z'
$AccountPattern = '^(?:[A-Za-z0-9][A-Za-z0-9-]{0,14}\\[A-Za-z0-9](?:[A-Za-z0-9._-]{0,18}[A-Za-z0-9_-])?|[A-Za-z0-9](?:[A-Za-z0-9._-]{0,18}[A-Za-z0-9_-])?@(?=[A-Za-z0-9.-]{1,253}\z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)\z'
$FqdnPattern = '^(?=.{1,253}\z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?!\d+\z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\z'
$RequestParams = @('ComputerName', 'Fqdn', 'ServiceAccount', 'DomainController', 'TrustedForDelegation')
# Protected Users has this RID in every domain (Windows Server 2012 R2 and later).
$ProtectedUsersRid = '525'

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
    return @{ State = $state; Guid = [string](Get-ADValue -Object $computer -Name 'ObjectGUID'); DnsHostName = [string](Get-ADValue -Object $computer -Name 'DNSHostName') }
}

function Assert-OwnComputerObject {
    # NAME$ is the server's object only if its DNSHostName is the server's FQDN: NetBIOS names stop at 15
    # characters, so two servers can truncate to one name, and a stale object of a host long gone can hold it.
    param([string]$Sam, [string]$Server, [string]$DnsHostName, [string]$Expected)
    if ([string]::Equals($DnsHostName.TrimEnd('.'), $Expected, [System.StringComparison]::OrdinalIgnoreCase)) { return }
    $found = 'it has no DNSHostName'
    if ($DnsHostName) { $found = "its DNSHostName is $DnsHostName" }
    throw (New-StepError -Code 'ADComputerMismatch' -Class 'permanent' -Message "$Sam on $Server is not the computer object of $Expected ($found); a computer name is at most 15 characters, so set computerName: for $Expected in the fleet file to the sAMAccountName (without the `$) of its own object")
}

function Assert-DelegatableAccount {
    # Delegation forwards the ticket of the account that connects. The KDC never makes one forwardable for an
    # account in Protected Users (RID 525 of its domain, also through nested groups: tokenGroups is transitive)
    # or marked sensitive (AccountNotDelegated), so setting the flag would weaken AD and still not work.
    param([string]$Account, [string]$Server)
    $sid = [string](Resolve-WinAccountSid -Name $Account)
    $user = Get-WinADUser -Identity $sid -Server $Server -Properties $UserProperties
    $reasons = New-Object -TypeName 'System.Collections.Generic.List[string]'
    if ((Get-ADValue -Object $user -Name 'AccountNotDelegated') -eq $true) { $reasons.Add("it is marked 'Account is sensitive and cannot be delegated'") }
    $protectedUsers = $sid.Substring(0, $sid.LastIndexOf('-') + 1) + $ProtectedUsersRid
    if ((Get-ADValueList -Object $user -Name 'tokenGroups') -contains $protectedUsers) { $reasons.Add("it is a member of Protected Users ($protectedUsers)") }
    if ($reasons.Count -eq 0) { return }
    throw (New-StepError -Code 'DelegationBlocked' -Class 'permanent' -Message "delegation cannot work for $Account on $Server`: $($reasons -join ' and '), so Kerberos never forwards its tickets; take it out of Protected Users and clear 'Account is sensitive', or set policy.delegation: skip and remove the second hop")
}

try {
    $step = Read-StepRequest -Encoded $RequestBase64 -Mode $Mode -RollbackToJson $RollbackToJson
    $Mode = $step.Mode
    $RollbackTo = $step.RollbackTo
    $params = Get-MonosyncRequestParams -Step $step -Names $RequestParams
    if ($null -ne $params) {
        # Assigning re-runs the parameters' Validate* attributes: a bad value throws InvalidInput here.
        $ComputerName = Get-RequestString -Object $params -Name 'ComputerName'
        # Only a value is assigned: $null would fail the variable's ValidatePattern, not say Fqdn is required.
        $value = Get-RequestString -Object $params -Name 'Fqdn'
        if ($null -ne $value) { $Fqdn = $value }
        if (Test-RequestMember -Object $params -Name 'ServiceAccount') {
            $account = Get-RequestString -Object $params -Name 'ServiceAccount'
            if ($null -eq $account) { throw (New-InvalidInput -Message 'ServiceAccount must be DOMAIN\user or user@dns.domain') }
            $ServiceAccount = $account
        }
        if (Test-RequestMember -Object $params -Name 'DomainController') {
            # Present means a DNS name: null is not "absent" (the contract's zod schema refuses it too).
            $dc = Get-RequestString -Object $params -Name 'DomainController'
            if ($null -eq $dc) { throw (New-InvalidInput -Message 'DomainController must be a DNS name') }
            $DomainController = $dc
        }
        $TrustedForDelegation = Get-RequestBoolean -Object $params -Name 'TrustedForDelegation'
    }
    if (-not $ComputerName) { throw (New-InvalidInput -Message 'ComputerName is required') }
    if ($ComputerName -cnotmatch $ComputerNamePattern) { throw (New-InvalidInput -Message "ComputerName must be 1-15 letters, digits or '-', not only digits") }
    if (-not $Fqdn) { throw (New-InvalidInput -Message 'Fqdn is required (the DNSHostName the computer object must carry)') }
    if ($Fqdn -cnotmatch $FqdnPattern) { throw (New-InvalidInput -Message 'Fqdn must be a DNS name') }
    if ($ServiceAccount -and $ServiceAccount -cnotmatch $AccountPattern) { throw (New-InvalidInput -Message 'ServiceAccount must be DOMAIN\user or user@dns.domain') }
    if ($DomainController -and $DomainController -cnotmatch $FqdnPattern) { throw (New-InvalidInput -Message 'DomainController must be a DNS name') }

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
        if ($want -and -not $ServiceAccount) { throw (New-InvalidInput -Message 'ServiceAccount is required to set delegation: delegation is refused for an account that cannot be delegated') }
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
    $script:Evidence['dnsHostName'] = $read.DnsHostName
    Assert-OwnComputerObject -Sam $sam -Server $server -DnsHostName $read.DnsHostName -Expected $Fqdn
    if ($Mode -eq 'rollback' -and -not [string]::Equals($savedDn, $before.distinguishedName, [System.StringComparison]::OrdinalIgnoreCase)) {
        # The saved state is another object's (or the object moved since): nothing of it is this object's to restore.
        throw (New-InvalidInput -Message "rollbackTo is the state of $savedDn, not of $($before.distinguishedName)")
    }
    if ($before.trustedToAuthForDelegation -or $before.allowedToDelegateTo.Count -gt 0 -or $before.resourceBasedDelegation) {
        $script:Warnings.Add('the computer object also carries constrained or resource-based delegation settings; they are reported, not changed')
    }

    # Restoring a saved state is not a new decision to delegate: only plan and apply ask whether it can work.
    if ($Mode -ne 'rollback' -and $want) { Assert-DelegatableAccount -Account $ServiceAccount -Server $server }

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

<#
.SYNOPSIS
    Preflight: reads everything the onboarding steps look at on one Exchange server, changing nothing.
.DESCRIPTION
    Reports the host facts (domain membership, domain controller, Edge Transport, OS and PowerShell
    versions) and the state of each step, read as that step's own script reads it (its 'before'): Remote
    Management Users membership of the service account (by SID, group S-1-5-32-580) and the
    Microsoft.PowerShell endpoint's ACL, the WinRM service and its enabled listeners, the Group Policy over
    WinRM (the listener address filters, a 'System Services' start type) with a warning where it stops a
    step, the HTTPS listener and
    its certificate, the CBT hardening level, TrustedHosts, and the Monosync-WinRM-In firewall rule. Needs
    local admin: the WSMan: drive is admin-only even for reads. It never starts WinRM: with the service
    stopped, what only WinRM can tell (listeners, endpoints, WSMan: settings) is reported empty, with a
    warning. It never fails for what makes a server unfit (a domain controller, an Edge Transport server,
    an account that does not resolve): it reports it.
.PARAMETER Mode
    plan or apply (the same read-only snapshot). rollback is refused: there is nothing to roll back.
.PARAMETER Fqdn
    The server's DNS name as Monosync knows it; a warning says when the server reports another.
.PARAMETER ServiceAccount
    The Monosync runtime account, DOMAIN\user or user@dns.domain.
.PARAMETER RequestBase64
    Base64 of UTF-8 JSON {mode, params, rollbackTo}; how the Monosync worker passes values.
.EXAMPLE
    .\Get-OnboardingSnapshot.ps1 -Fqdn exch01.corp.example -ServiceAccount 'CORP\monosync_svc'
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$RequestBase64,
    [ValidateSet('plan', 'apply', 'rollback')]
    [string]$Mode = 'plan',
    # \z, not $: '$' also matches before a trailing newline, which would let 'name' + LF through. The last label
    # is not all digits: an IP address is no DNS name (domain/validators.ts fqdnSchema).
    [ValidatePattern('^(?=.{1,253}\z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?![0-9]+\z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\z')]
    [string]$Fqdn,
    [ValidatePattern('^(?:[A-Za-z0-9][A-Za-z0-9-]{0,14}\\[A-Za-z0-9][A-Za-z0-9._-]{0,19}|[A-Za-z0-9][A-Za-z0-9._-]{0,19}@[A-Za-z0-9.-]{1,253})\z')]
    [string]$ServiceAccount
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Get-OnboardingSnapshot'
$script:Target = Get-LocalFqdn
$RequestParams = @('Fqdn', 'ServiceAccount')
$RemoteManagementUsersSid = 'S-1-5-32-580'
$EndpointName = 'Microsoft.PowerShell'
$RootSddlPath = 'WSMan:\localhost\Service\RootSDDL'
$CbtPath = 'WSMan:\localhost\Service\Auth\CbtHardeningLevel'
$TrustedHostsPath = 'WSMan:\localhost\Client\TrustedHosts'
$ServicePolicyKey = 'HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service'
$ClientPolicyKey = 'HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\WinRM\Client'
$EdgeTransportKey = 'HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\ExchangeServer\v15\EdgeTransportRole'
$FirewallRuleName = 'Monosync-WinRM-In'
$StorePath = 'Cert:\LocalMachine\My'
$ServerAuthOid = '1.3.6.1.5.5.7.3.1'
$EkuExtensionOid = '2.5.29.37'

# Each reader below reads what the step's own script reads, through the same seam functions, and reports it
# in that step's state (its zod schema in steps/<Script>/step.ts): the snapshot's parts equal the 'before' of
# each step's plan. Keep them in step with steps/<Script>/<Script>.ps1.

function Get-PropertyValue {
    # A property of a Windows object by name, $null when it has none (strict mode throws on a missing one).
    param($Object, [string]$Name)
    if ($null -eq $Object) { return $null }
    $property = $Object.PSObject.Properties[$Name]
    if ($null -eq $property) { return $null }
    return $property.Value
}

function Get-EndpointAccess {
    # As Grant-RemoteManagement's: whether the Microsoft.PowerShell endpoint admits Remote Management Users
    # (an allow and no deny for the group) and denies NETWORK logons; its own ACL, else WinRM's RootSDDL. An
    # endpoint that is not registered admits nobody (that step fails then; the snapshot reports it).
    $endpoint = $null
    foreach ($candidate in @(Get-WinPSSessionConfiguration)) {
        if ([string]::Equals([string](Get-PropertyValue -Object $candidate -Name 'Name'), $EndpointName, [System.StringComparison]::OrdinalIgnoreCase)) { $endpoint = $candidate }
    }
    if ($null -eq $endpoint) {
        $script:Warnings.Add("the $EndpointName endpoint is not registered")
        return @{ AllowsGroup = $false; NetworkDenied = $false }
    }
    $sddl = [string](Get-PropertyValue -Object $endpoint -Name 'SecurityDescriptorSddl')
    if (-not $sddl) { $sddl = [string](Get-WinWsmanItem -Path $RootSddlPath).Value }
    return (Get-RemoteManagementAccess -Sddl $sddl)
}

function Get-RemoteManagementFacts {
    # Grant-RemoteManagement's state for the service account. Where that step refuses to go on (an account no
    # domain resolves, as on an Edge Transport server), the snapshot reports the account as no member.
    param([string]$Account, [bool]$WinRMRunning)
    $groupAccount = [string](Resolve-WinSidAccount -Sid $RemoteManagementUsersSid)
    # The group's own name, without its localized domain (BUILTIN, VORDEFINIERT, ...).
    $groupName = $groupAccount.Substring($groupAccount.IndexOf('\') + 1)
    $member = $false
    $memberSid = $null
    try {
        $memberSid = [string](Resolve-WinAccountSid -Name $Account)
    } catch {
        if ((Get-StepErrorInfo -Record $_).code -ne 'PrincipalNotFound') { throw }
        $script:Warnings.Add("the service account $Account does not resolve to a SID on this server")
    }
    if ($null -ne $memberSid) {
        $members = Get-WinLocalGroupMemberSid -GroupName $groupName
        $member = ($null -ne (Find-OrdinalMatch -Set $members -Value $memberSid -IgnoreCase))
    }
    # The endpoints are read through WinRM: with WinRM stopped that read would start it.
    $access = @{ AllowsGroup = $false; NetworkDenied = $false }
    if ($WinRMRunning) { $access = Get-EndpointAccess }
    return [ordered]@{ member = $member; groupName = $groupName; endpointAllowsGroup = $access.AllowsGroup; networkDenied = $access.NetworkDenied }
}

function Get-RemotingFacts {
    # Enable-Remoting's state: the WinRM service, its enabled listeners and whether the Microsoft.PowerShell
    # endpoint is enabled (only that one: others an admin disabled do not count). A stopped WinRM answers
    # nothing, and asking for the endpoints would start it.
    param($Service)
    $status = [string](Get-PropertyValue -Object $Service -Name 'Status')
    $startType = Get-PropertyValue -Object $Service -Name 'StartType'
    if ($null -ne $startType) { $startType = [string]$startType }
    else {
        # .NET before 4.6.1 has no StartType: the WMI start mode (Auto/Manual/Disabled).
        $startType = [string](Get-PropertyValue -Object (Get-WinCimService -Name 'WinRM') -Name 'StartMode')
        if ($startType -eq 'Auto') { $startType = 'Automatic' }
    }
    $listeners = New-Object -TypeName 'System.Collections.Generic.List[object]'
    $endpointsEnabled = $false
    if ($status -eq 'Running') {
        foreach ($listener in @(Get-WinWsmanListener)) {
            if ([string](Get-PropertyValue -Object $listener -Name 'Enabled') -eq 'true') {
                $listeners.Add([ordered]@{ transport = [string](Get-PropertyValue -Object $listener -Name 'Transport'); port = [int](Get-PropertyValue -Object $listener -Name 'Port') })
            }
        }
        foreach ($endpoint in @(Get-WinPSSessionConfiguration)) {
            if ([string](Get-PropertyValue -Object $endpoint -Name 'Name') -eq $EndpointName) { $endpointsEnabled = ([string](Get-PropertyValue -Object $endpoint -Name 'Enabled') -eq 'true') }
        }
    }
    return [ordered]@{ serviceStatus = $status; startType = $startType; listeners = [object[]]$listeners.ToArray(); endpointsEnabled = $endpointsEnabled }
}

function ConvertTo-IsoDate {
    # UTC with milliseconds, as JavaScript's Date.toISOString() writes it (culture-independent).
    param([DateTime]$Date)
    return $Date.ToUniversalTime().ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fff'Z'", [System.Globalization.CultureInfo]::InvariantCulture)
}

function Test-ServerAuth {
    param($Certificate)
    foreach ($extension in @($Certificate.Extensions)) {
        if ([string]$extension.Oid.Value -ne $EkuExtensionOid) { continue }
        foreach ($usage in @($extension.EnhancedKeyUsages)) { if ([string]$usage.Value -eq $ServerAuthOid) { return $true } }
    }
    return $false
}

function Get-HttpsListenerFacts {
    # Set-HttpsListener's state: the managed HTTPS listener (not a Compatibility one; the Address=* one when
    # there are several) and its certificate in LocalMachine\My ($null when it is not there).
    param([bool]$WinRMRunning)
    $found = New-Object -TypeName 'System.Collections.Generic.List[object]'
    if ($WinRMRunning) {
        foreach ($item in @(Get-WinWsmanListener)) {
            if ([string](Get-PropertyValue -Object $item -Name 'Transport') -ne 'HTTPS') { continue }
            if ([string](Get-PropertyValue -Object $item -Name 'Source') -eq 'Compatibility') { continue }
            $found.Add($item)
        }
    }
    if ($found.Count -eq 0) { return [ordered]@{ listener = $null; certificate = $null } }
    $chosen = $found[0]
    foreach ($item in $found) { if ([string](Get-PropertyValue -Object $item -Name 'Address') -eq '*') { $chosen = $item; break } }
    $port = 0
    [void][int]::TryParse([string](Get-PropertyValue -Object $chosen -Name 'Port'), [ref]$port)
    $thumbprint = ([string](Get-PropertyValue -Object $chosen -Name 'CertificateThumbprint')).Replace(' ', '').ToUpperInvariant()
    $certificate = $null
    if ($thumbprint) {
        $bound = @(Get-WinCertificate -Path $StorePath | Where-Object { $_.Thumbprint -eq $thumbprint } | Select-Object -First 1)
        if ($bound.Count -gt 0) {
            $x509 = $bound[0]
            $certificate = [ordered]@{
                thumbprint    = [string]$x509.Thumbprint
                subject       = [string]$x509.Subject
                issuer        = [string]$x509.Issuer
                # The comma-free form: an ordered dictionary keeps a one-name array an array in JSON.
                dnsNames      = [string[]]@($x509.DnsNameList | ForEach-Object { [string]$_.Unicode })
                notBefore     = ConvertTo-IsoDate -Date $x509.NotBefore
                notAfter      = ConvertTo-IsoDate -Date $x509.NotAfter
                hasPrivateKey = [bool]$x509.HasPrivateKey
                serverAuth    = Test-ServerAuth -Certificate $x509
                selfSigned    = ([string]$x509.Subject -eq [string]$x509.Issuer)
            }
        }
    }
    return [ordered]@{
        listener    = [ordered]@{ port = $port; hostname = [string](Get-PropertyValue -Object $chosen -Name 'Hostname'); thumbprint = $thumbprint }
        certificate = $certificate
    }
}

function Get-WsmanSettingFacts {
    # Set-CbtHardening's and Set-TrustedHosts' state: a WSMan: setting and whether a Group Policy owns it (WinRM
    # reports its source as GPO, or the policy key holds it). With WinRM stopped only the policy key is read.
    param([string]$Path, [string]$PolicyKey, [string[]]$PolicyNames, [string]$Field, [bool]$WinRMRunning)
    $value = ''
    $fromGpo = $false
    if ($WinRMRunning) {
        $item = Get-WinWsmanItem -Path $Path
        $value = [string]$item.Value
        $fromGpo = ([string](Get-PropertyValue -Object $item -Name 'SourceOfValue') -eq 'GPO')
    }
    $fromPolicyKey = $false
    foreach ($name in $PolicyNames) { if ($null -ne (Get-WinRegistryValue -Key $PolicyKey -Name $name)) { $fromPolicyKey = $true } }
    $state = [ordered]@{}
    $state[$Field] = $value
    $state['policyControlled'] = ($fromGpo -or $fromPolicyKey)
    return $state
}

function Test-NotFoundRecord {
    # The CDXML cmdlets' "No MSFT_NetFirewallRule objects found with property 'Name' equal to ..." (by its
    # error id and category, never by the en-US text).
    param([System.Management.Automation.ErrorRecord]$Record)
    return ([string]$Record.CategoryInfo.Category -eq 'ObjectNotFound' -and [string]$Record.FullyQualifiedErrorId -like 'CmdletizationQuery_NotFound*')
}

function Get-FirewallRuleProfiles {
    # A rule's Profile as Windows reports it ('Domain, Private', or 'Any') as Set-MonosyncFirewallRule lists it.
    param($Rule)
    $parts = @(([string]$Rule.Profile) -split ',' | ForEach-Object { $_.Trim() })
    $list = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($profileName in @('Domain', 'Private', 'Public')) { if ($null -ne (Find-OrdinalMatch -Set $parts -Value $profileName -IgnoreCase)) { $list.Add($profileName) } }
    if ($list.Count -eq 0) { $list.Add('Any') }
    return , [string[]]$list.ToArray()
}

function Get-BuiltInHttpRuleFacts {
    # Windows' own WINRM-HTTP-In-TCP as Set-MonosyncFirewallRule reports it ($null when there is none).
    $rule = $null
    try {
        $rule = Get-WinFirewallRule -Name 'WINRM-HTTP-In-TCP'
    } catch {
        if (-not (Test-NotFoundRecord -Record $_)) { throw }
    }
    if ($null -eq $rule) { return $null }
    $addresses = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($address in @((Get-WinFirewallAddressFilter -Rule $rule).RemoteAddress)) { if ([string]$address -ne '') { $addresses.Add([string]$address) } }
    return [ordered]@{ enabled = ([string]$rule.Enabled -eq 'True'); remoteAddresses = [string[]]$addresses.ToArray(); profiles = (Get-FirewallRuleProfiles -Rule $rule) }
}

function Get-FirewallFacts {
    # Set-MonosyncFirewallRule's state: the rule by its name, its single port numbers sorted, its remote
    # addresses and profiles; and Windows' own WINRM-HTTP-In-TCP.
    $builtIn = Get-BuiltInHttpRuleFacts
    $rule = $null
    try {
        $rule = Get-WinFirewallRule -Name $FirewallRuleName
    } catch {
        if (-not (Test-NotFoundRecord -Record $_)) { throw }
    }
    if ($null -eq $rule) { return [ordered]@{ rule = $null; builtInHttpRule = $builtIn } }
    $portFilter = Get-WinFirewallPortFilter -Rule $rule
    $addressFilter = Get-WinFirewallAddressFilter -Rule $rule
    $ports = New-Object -TypeName 'System.Collections.Generic.List[int]'
    foreach ($port in @($portFilter.LocalPort)) {
        $number = 0
        if ([int]::TryParse([string]$port, [System.Globalization.NumberStyles]::None, [System.Globalization.CultureInfo]::InvariantCulture, [ref]$number) -and $number -ge 1 -and $number -le 65535) { $ports.Add($number) }
    }
    $ports.Sort()
    $addresses = New-Object -TypeName 'System.Collections.Generic.List[string]'
    foreach ($address in @($addressFilter.RemoteAddress)) { if ([string]$address -ne '') { $addresses.Add([string]$address) } }
    return [ordered]@{ rule = [ordered]@{
            name            = [string]$rule.Name
            enabled         = ([string]$rule.Enabled -eq 'True')
            localPorts      = [int[]]$ports.ToArray()
            remoteAddresses = [string[]]$addresses.ToArray()
            profiles        = (Get-FirewallRuleProfiles -Rule $rule)
        }
        builtInHttpRule = $builtIn
    }
}

try {
    $step = Read-StepRequest -Encoded $RequestBase64 -Mode $Mode
    $Mode = $step.Mode
    $params = Get-MonosyncRequestParams -Step $step -Names $RequestParams
    if ($null -ne $params) {
        # Assigning re-runs the parameters' ValidatePattern: a bad value throws InvalidInput here.
        $Fqdn = Get-RequestString -Object $params -Name 'Fqdn' -Required
        $ServiceAccount = Get-RequestString -Object $params -Name 'ServiceAccount' -Required
    }
    if ($Mode -eq 'rollback') { throw (New-InvalidInput -Message 'Get-OnboardingSnapshot only reads: there is nothing to roll back') }
    if (-not $Fqdn -or -not $ServiceAccount) { throw (New-InvalidInput -Message 'Fqdn and ServiceAccount are required') }

    $localFqdn = Get-LocalFqdn
    $script:Target = $localFqdn
    if ($localFqdn -ne $Fqdn) { $script:Warnings.Add("the server calls itself $localFqdn, not $Fqdn") }
    $system = Get-WinComputerSystem
    $os = Get-WinOperatingSystem
    $service = Get-WinService -Name 'WinRM'
    $running = ([string](Get-PropertyValue -Object $service -Name 'Status') -eq 'Running')
    if (-not $running) { $script:Warnings.Add('WinRM is not running: its listeners, endpoints and WSMan: settings were not read (reading them would start it)') }

    # Group Policy over WinRM: reported here (state and a warning), while Enable-Remoting and Set-HttpsListener
    # stop for an operator on it (PolicyControlled).
    $listenerPolicy = Get-WinRMListenerPolicy
    $startPolicy = Get-WinRMStartPolicy
    foreach ($problem in @((Get-WinRMListenerPolicyProblem -Policy $listenerPolicy), (Get-WinRMStartPolicyProblem -Policy $startPolicy))) {
        if ($null -ne $problem) { $script:Warnings.Add($problem) }
    }

    $snapshot = [ordered]@{
        fqdn               = $localFqdn
        computerName       = [string](Get-WinComputerName)
        domainJoined       = [bool](Get-PropertyValue -Object $system -Name 'PartOfDomain')
        isDomainController = ([int](Get-PropertyValue -Object $system -Name 'DomainRole') -ge 4)
        isEdgeTransport    = [bool](Test-WinRegistryKey -Key $EdgeTransportKey)
        osVersion          = [string](Get-PropertyValue -Object $os -Name 'Version')
        psVersion          = [string](Get-WinPowerShellVersion)
        remoteManagement   = Get-RemoteManagementFacts -Account $ServiceAccount -WinRMRunning $running
        remoting           = Get-RemotingFacts -Service $service
        winrmPolicy        = [ordered]@{ listener = $listenerPolicy; serviceStartType = $startPolicy }
        httpsListener      = Get-HttpsListenerFacts -WinRMRunning $running
        cbt                = Get-WsmanSettingFacts -Path $CbtPath -PolicyKey $ServicePolicyKey -PolicyNames @('CbtHardeningLevel') -Field 'level' -WinRMRunning $running
        trustedHosts       = Get-WsmanSettingFacts -Path $TrustedHostsPath -PolicyKey $ClientPolicyKey -PolicyNames @('TrustedHosts', 'TrustedHostsList') -Field 'value' -WinRMRunning $running
        firewall           = Get-FirewallFacts
    }
    $script:Evidence['certificates'] = @(Get-WinCertificate -Path $StorePath).Count
    Write-StepResult -StepMode $Mode -Compliant $true -Changed $false -Before $snapshot -After $snapshot
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}

<#
.SYNOPSIS
    Preflight: reads everything the onboarding steps look at on one Exchange server, changing nothing.
.DESCRIPTION
    Reports the host facts (domain membership, domain controller, Edge Transport, OS and PowerShell
    versions) and the state of each step: Remote Management Users membership of the service account
    (by SID S-1-5-32-580), WinRM service and listeners, the HTTPS listener and its certificate, the
    CBT hardening level, TrustedHosts, and the Monosync-WinRM-In firewall rule. Needs local admin: the
    WSMan: drive is admin-only even for reads.
.PARAMETER Mode
    plan or apply (the same read-only snapshot).
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
    [ValidatePattern('^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')]
    [string]$Fqdn,
    [ValidatePattern('^(?:[A-Za-z0-9][A-Za-z0-9-]{0,14}\\[A-Za-z0-9][A-Za-z0-9._-]{0,19}|[A-Za-z0-9][A-Za-z0-9._-]{0,19}@[A-Za-z0-9.-]{1,253})$')]
    [string]$ServiceAccount
)

#monosync-common: the helpers of powershell/MonosyncCommon.ps1 go here (fleet script <step> writes the whole script)

$script:ScriptName = 'Get-OnboardingSnapshot'
$script:Target = Get-LocalFqdn

function Get-RemoteManagementFacts {
    param([string]$Account)
    $groupName = (New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-32-580').Translate([System.Security.Principal.NTAccount]).Value
    $member = $false
    try {
        $memberSid = (New-Object -TypeName System.Security.Principal.NTAccount -ArgumentList $Account).Translate([System.Security.Principal.SecurityIdentifier]).Value
        $group = [ADSI]('WinNT://{0}/{1},group' -f $env:COMPUTERNAME, $groupName.Substring($groupName.IndexOf('\') + 1))
        foreach ($entry in @($group.Invoke('Members'))) {
            $bytes = $entry.GetType().InvokeMember('objectSid', 'GetProperty', $null, $entry, $null)
            if ((New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $bytes, 0).Value -eq $memberSid) { $member = $true }
        }
    } catch [System.Security.Principal.IdentityNotMappedException] {
        $script:Warnings.Add("the service account $Account does not resolve to a SID on this server")
    }
    $endpoint = Get-PSSessionConfiguration -Name 'Microsoft.PowerShell'
    $descriptor = New-Object -TypeName System.Security.AccessControl.CommonSecurityDescriptor -ArgumentList $false, $false, ([string]$endpoint.SecurityDescriptorSddl)
    $allows = $false
    $denied = $false
    foreach ($ace in $descriptor.DiscretionaryAcl) {
        if ($ace.SecurityIdentifier.Value -eq 'S-1-5-32-580' -and [string]$ace.AceQualifier -eq 'AccessAllowed') { $allows = $true }
        if ($ace.SecurityIdentifier.Value -eq 'S-1-5-2' -and [string]$ace.AceQualifier -eq 'AccessDenied') { $denied = $true }
    }
    return [ordered]@{ member = $member; groupName = $groupName; endpointAllowsGroup = $allows; networkDenied = $denied }
}

function Get-RemotingFacts {
    $service = Get-Service -Name WinRM
    $startType = [string](Get-CimInstance -ClassName Win32_Service -Filter "Name='WinRM'").StartMode
    if ($startType -eq 'Auto') { $startType = 'Automatic' }
    $listeners = @()
    foreach ($listener in @(Get-WSManInstance -ResourceURI 'winrm/config/Listener' -Enumerate)) {
        if ([string]$listener.Enabled -eq 'true') { $listeners += [ordered]@{ transport = [string]$listener.Transport; port = [int]$listener.Port } }
    }
    $endpoints = @(Get-PSSessionConfiguration | Where-Object { $_.Name -like 'Microsoft.PowerShell*' })
    $disabled = @($endpoints | Where-Object { [string]$_.Enabled -ne 'True' })
    return [ordered]@{ serviceStatus = [string]$service.Status; startType = $startType; listeners = $listeners; endpointsEnabled = ($endpoints.Count -gt 0 -and $disabled.Count -eq 0) }
}

function Get-HttpsListenerFacts {
    foreach ($container in @(Get-ChildItem -Path 'WSMan:\localhost\Listener')) {
        if (@($container.Keys) -notcontains 'Transport=HTTPS') { continue }
        $settings = @{}
        foreach ($item in @(Get-ChildItem -Path (Join-Path -Path 'WSMan:\localhost\Listener' -ChildPath $container.Name))) { $settings[[string]$item.Name] = [string]$item.Value }
        $thumbprint = ([string]$settings['CertificateThumbprint']).Replace(' ', '').ToUpperInvariant()
        $certificate = $null
        $found = Get-ChildItem -Path 'Cert:\LocalMachine\My' | Where-Object { $_.Thumbprint -eq $thumbprint } | Select-Object -First 1
        if ($null -ne $found) {
            $serverAuth = $false
            foreach ($extension in $found.Extensions) {
                if ($extension -is [System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension]) {
                    foreach ($usage in $extension.EnhancedKeyUsages) { if ($usage.Value -eq '1.3.6.1.5.5.7.3.1') { $serverAuth = $true } }
                }
            }
            $certificate = [ordered]@{
                thumbprint    = [string]$found.Thumbprint
                subject       = [string]$found.Subject
                issuer        = [string]$found.Issuer
                dnsNames      = [string[]]@($found.DnsNameList | ForEach-Object { [string]$_.Unicode })
                notBefore     = $found.NotBefore.ToUniversalTime().ToString('o')
                notAfter      = $found.NotAfter.ToUniversalTime().ToString('o')
                hasPrivateKey = [bool]$found.HasPrivateKey
                serverAuth    = $serverAuth
                selfSigned    = ($found.Subject -eq $found.Issuer)
            }
        }
        return [ordered]@{ listener = [ordered]@{ port = [int]$settings['Port']; hostname = [string]$settings['Hostname']; thumbprint = $thumbprint }; certificate = $certificate }
    }
    return [ordered]@{ listener = $null; certificate = $null }
}

function Test-PolicyValue {
    param([string]$Path, [string[]]$Names)
    $policy = Get-ItemProperty -Path $Path -ErrorAction SilentlyContinue
    if ($null -eq $policy) { return $false }
    foreach ($name in $Names) { if ($null -ne $policy.PSObject.Properties[$name]) { return $true } }
    return $false
}

function Get-FirewallFacts {
    $rule = Get-NetFirewallRule -Name 'Monosync-WinRM-In' -ErrorAction SilentlyContinue
    if ($null -eq $rule) { return [ordered]@{ rule = $null } }
    $ports = @(($rule | Get-NetFirewallPortFilter).LocalPort | ForEach-Object { $n = 0; if ([int]::TryParse([string]$_, [ref]$n)) { $n } })
    return [ordered]@{ rule = [ordered]@{
            name            = [string]$rule.Name
            enabled         = ([string]$rule.Enabled -eq 'True')
            localPorts      = [int[]]@($ports | Sort-Object)
            remoteAddresses = [string[]]@(($rule | Get-NetFirewallAddressFilter).RemoteAddress | ForEach-Object { [string]$_ })
        }
    }
}

try {
    if ($RequestBase64) {
        $request = Read-MonosyncRequest -Encoded $RequestBase64
        $Mode = [string]$request.mode
        $Fqdn = [string]$request.params.Fqdn
        $ServiceAccount = [string]$request.params.ServiceAccount
    }
    if (-not $Fqdn -or -not $ServiceAccount) { throw (New-StepError -Code 'InvalidInput' -Class 'permanent' -Message 'Fqdn and ServiceAccount are required') }

    $system = Get-CimInstance -ClassName Win32_ComputerSystem
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $localFqdn = Get-LocalFqdn
    if ($localFqdn -ne $Fqdn) { $script:Warnings.Add("the server calls itself $localFqdn, not $Fqdn") }
    $serviceSettings = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service'
    $clientSettings = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Client'

    $snapshot = [ordered]@{
        fqdn               = $localFqdn
        computerName       = [string]$env:COMPUTERNAME
        domainJoined       = [bool]$system.PartOfDomain
        isDomainController = ([int]$system.DomainRole -ge 4)
        isEdgeTransport    = (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\EdgeTransportRole')
        osVersion          = ('{0} {1}' -f $os.Caption, $os.Version).Trim()
        psVersion          = $PSVersionTable.PSVersion.ToString()
        remoteManagement   = Get-RemoteManagementFacts -Account $ServiceAccount
        remoting           = Get-RemotingFacts
        httpsListener      = Get-HttpsListenerFacts
        cbt                = [ordered]@{ level = [string](Get-Item -Path 'WSMan:\localhost\Service\Auth\CbtHardeningLevel').Value; policyControlled = (Test-PolicyValue -Path $serviceSettings -Names 'CbtHardeningLevel') }
        trustedHosts       = [ordered]@{ value = [string](Get-Item -Path 'WSMan:\localhost\Client\TrustedHosts').Value; policyControlled = (Test-PolicyValue -Path $clientSettings -Names 'TrustedHosts', 'TrustedHostsList') }
        firewall           = Get-FirewallFacts
    }
    Write-StepResult -StepMode $Mode -Compliant $true -Changed $false -Before $snapshot -After $snapshot
} catch {
    Write-StepFailure -Record $_ -StepMode $Mode
}

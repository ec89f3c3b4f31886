#region monosync-common
# The helpers every step script shares, kept once. standaloneScript() (powershell/script-text.ts) puts this
# file in place of the '#monosync-common' marker line that follows each step script's param() block, so a
# step runs as one self-contained text: the runner sends it as one script block (nothing is dot-sourced on
# the server), and 'fleet script <step>' writes the same text to run by hand.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
# Windows PowerShell 5.1 would otherwise serialize arrays as {"value":[...],"Count":n}.
Remove-TypeData -TypeName System.Array -ErrorAction SilentlyContinue
$script:Warnings = New-Object -TypeName 'System.Collections.Generic.List[string]'
$script:Evidence = [ordered]@{}

#region seam
# THE SEAM: every Windows-only operation of the step scripts, one function each.
#
# Convention: <ApprovedVerb>-Win<Noun> (Get-Verb lists the approved verbs). A seam function performs exactly
# ONE Windows operation (a WSMan: item, a registry value, the certificate store, a local group, a firewall
# rule, a service, an AD cmdlet, Enable-PSRemoting, the machine's own name) and holds no logic: no
# decisions, no defaults, no catch. Its errors propagate unchanged, so Get-StepErrorInfo classifies the
# record Windows really produced. A step script calls these, never the Windows cmdlets or .NET APIs
# themselves, and decides everything else in its own code, which is what the tests exercise.
#
# How tests replace them (test/powershell/SeamTestKit.psm1): a GLOBAL ALIAS named like the seam function,
# pointing to a fake. The runner invokes a script as `& $sb.GetNewClosure()`, which binds it to a new module
# whose only outer scope is the global one, and PowerShell resolves aliases before functions, so the alias
# wins over the function the script defines itself. Pester's Mock cannot do this (its mock lives in the
# test's scope, which the script's module never sees). Add a function here when a step needs a new Windows
# operation; add its fake to test/powershell/LabSeam.psm1 when the lab models the state it touches.

function Get-WinComputerName {
    return [string]$env:COMPUTERNAME
}

function Resolve-WinDnsHostName {
    param([Parameter(Mandatory = $true)][string]$Name)
    return [System.Net.Dns]::GetHostEntry($Name).HostName
}

function Get-WinWsmanItem {
    # The item at a WSMan: path: a WSManConfigLeafElement with .Value and .SourceOfValue ('GPO' when a
    # Group Policy sets it). Strict mode off: the WSMan provider runs script of its own that reads $_
    # (PowerShell issue 11742), which a caller's strict mode would break.
    param([Parameter(Mandatory = $true)][string]$Path)
    Set-StrictMode -Off
    return (Get-Item -Path $Path)
}

function Set-WinWsmanItem {
    # Writes a WSMan: setting. A GPO-owned setting fails with InvalidOperationException whose message is
    # WinRM's text only ('The config setting X cannot be changed because is controlled by policies...'):
    # the provider drops the fault's code (0x8033808A).
    param([Parameter(Mandatory = $true)][string]$Path, [Parameter(Mandatory = $true)][AllowEmptyString()][string]$Value)
    Set-StrictMode -Off
    Set-Item -Path $Path -Value $Value -Force
}

function Get-WinRegistryValue {
    # A value under a key given as 'HKEY_LOCAL_MACHINE\...'; $null when the key or the value does not exist.
    # Access denied throws (SecurityException, wrapped in MethodInvocationException).
    param([Parameter(Mandatory = $true)][string]$Key, [Parameter(Mandatory = $true)][string]$Name)
    return [Microsoft.Win32.Registry]::GetValue($Key, $Name, $null)
}

#region seam: Set-TrustedHosts
# A named system mutex serialises the read-modify-write of TrustedHosts on one machine across every session
# and process that changes it (parallel onboarding runs, several workers on one host). 'Global\' makes it
# one mutex for all logon sessions (a WinRM session runs in its own). WaitOne throws
# AbandonedMutexException when the last holder died holding it (the mutex is then ours).
function New-WinNamedMutex {
    param([Parameter(Mandatory = $true)][string]$Name)
    return (New-Object -TypeName 'System.Threading.Mutex' -ArgumentList $false, $Name)
}

function Wait-WinMutex {
    # True when the mutex was taken within the time, false when another holder kept it.
    param([Parameter(Mandatory = $true)]$Mutex, [Parameter(Mandatory = $true)][int]$TimeoutMs)
    return $Mutex.WaitOne($TimeoutMs)
}

function Exit-WinMutex {
    param([Parameter(Mandatory = $true)]$Mutex)
    $Mutex.ReleaseMutex()
}

function Close-WinMutex {
    param([Parameter(Mandatory = $true)]$Mutex)
    $Mutex.Dispose()
}
#endregion

#region seam: Enable-KerberosDelegation
# The ActiveDirectory module (RSAT-AD-PowerShell) on the AD management host; its errors as the module throws
# them (test/powershell/SeamTestKit.psm1 New-ADError builds each one).
function Import-WinADModule {
    # Missing: FileNotFoundException, FQID 'Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand'.
    Import-Module -Name ActiveDirectory -ErrorAction Stop -Verbose:$false
}

function Find-WinADDomainController {
    # The DC locator's pick of a DC running AD Web Services: an ADDomainController whose HostName is a
    # collection. None reachable: ADServerDownException, FQID 'ActiveDirectoryServer:1355,...'.
    return (Get-ADDomainController -Discover -Service ADWS)
}

function Get-WinADComputer {
    # The computer object by -Identity (sAMAccountName 'NAME$' or objectGUID, never a filter) on one DC, with
    # the extra properties named. Unknown: ADIdentityNotFoundException ('Cannot find an object with
    # identity: ...'); DC down: ADServerDownException (FQID 'ActiveDirectoryServer:0,...').
    param([Parameter(Mandatory = $true)][string]$Identity, [Parameter(Mandatory = $true)][string]$Server, [Parameter(Mandatory = $true)][string[]]$Properties)
    return (Get-ADComputer -Identity $Identity -Server $Server -Properties $Properties)
}

function Set-WinADAccountControl {
    # TRUSTED_FOR_DELEGATION in userAccountControl, on one DC. Without SeEnableDelegationPrivilege (or write
    # access): ADException ErrorCode 8344, 'Insufficient access rights to perform the operation'.
    param([Parameter(Mandatory = $true)][string]$Identity, [Parameter(Mandatory = $true)][string]$Server, [Parameter(Mandatory = $true)][bool]$TrustedForDelegation)
    Set-ADAccountControl -Identity $Identity -Server $Server -TrustedForDelegation $TrustedForDelegation
}

function Get-WinADUser {
    # A user by -Identity (its SID) on one DC, with the extra properties named: AccountNotDelegated ("Account is
    # sensitive and cannot be delegated") and tokenGroups (the SIDs of every security group it is in, nested
    # ones too; a constructed attribute AD computes for a read of one object). Unknown: ADIdentityNotFoundException.
    param([Parameter(Mandatory = $true)][string]$Identity, [Parameter(Mandatory = $true)][string]$Server, [Parameter(Mandatory = $true)][string[]]$Properties)
    return (Get-ADUser -Identity $Identity -Server $Server -Properties $Properties)
}
#endregion

#region seam: Set-HttpsListener
# WinRM listeners through the WSMan cmdlets (winrm/config/Listener), whose errors keep WinRM's fault code:
# the whole <f:WSManFault Code="<decimal>"> XML as the InvalidOperationException's message, FQID
# 'WsManError,Microsoft.WSMan.Management.<Verb>WSManInstanceCommand' (the WSMan: drive keeps only the text).
# WinRM's codes for what goes wrong here (wsmerror.h): 0x80338033 the listener already exists, 0x803380E9 the
# certificate's CN does not match Hostname, 0x803380EE the certificate lacks the Server Authentication EKU,
# 0x80338000 no such listener, 0x80338012 WinRM is not running; Code 5 access denied (not elevated); 0x800700B7
# (183) on create: HTTP.sys already holds an SSL binding on the listener's address and port.
function Get-WinWsmanListener {
    # Every listener: XmlElements with Address, Transport, Port, Hostname, Enabled, URLPrefix,
    # CertificateThumbprint, ListeningOn, and Source ('GPO', 'Compatibility') only on a listener that is not
    # local configuration (read it through PSObject.Properties: strict mode throws on a missing one).
    Set-StrictMode -Off
    return (Get-WSManInstance -ResourceURI 'winrm/config/Listener' -Enumerate)
}

function New-WinWsmanListener {
    # Creates the listener Address+Transport with the settings of ValueSet (Hostname, CertificateThumbprint,
    # Port, Enabled) in one Create: WinRM checks the certificate against Hostname before it stores anything.
    param([Parameter(Mandatory = $true)][string]$Address, [Parameter(Mandatory = $true)][string]$Transport, [Parameter(Mandatory = $true)][hashtable]$ValueSet)
    Set-StrictMode -Off
    $null = New-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet @{ Address = $Address; Transport = $Transport } -ValueSet $ValueSet
}

function Set-WinWsmanListener {
    # Changes the settings of ValueSet on the listener Address+Transport in one Put (hostname and thumbprint
    # together: WinRM checks the pair, so two separate writes could fail between them).
    param([Parameter(Mandatory = $true)][string]$Address, [Parameter(Mandatory = $true)][string]$Transport, [Parameter(Mandatory = $true)][hashtable]$ValueSet)
    Set-StrictMode -Off
    $null = Set-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet @{ Address = $Address; Transport = $Transport } -ValueSet $ValueSet
}

function Remove-WinWsmanListener {
    param([Parameter(Mandatory = $true)][string]$Address, [Parameter(Mandatory = $true)][string]$Transport)
    Set-StrictMode -Off
    Remove-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet @{ Address = $Address; Transport = $Transport }
}

function Get-WinCertificate {
    # The certificates of a store such as 'Cert:\LocalMachine\My': X509Certificate2 objects with the
    # certificate provider's DnsNameList and EnhancedKeyUsageList; nothing for an empty store.
    param([Parameter(Mandatory = $true)][string]$Path)
    return (Get-ChildItem -Path $Path)
}

function Get-WinPSSnapin {
    # The snap-ins this session has loaded, or with -Registered every snap-in registered on the machine
    # (.Name, e.g. 'Microsoft.Exchange.Management.PowerShell.SnapIn', which Exchange setup registers). Windows
    # PowerShell only: PowerShell 6 and later have no snap-ins (no Get-PSSnapin command at all).
    param([switch]$Registered)
    return (Get-PSSnapin -Registered:$Registered)
}

function Add-WinPSSnapin {
    # Loads a registered snap-in into this session (the Exchange Management Shell's cmdlets).
    param([Parameter(Mandatory = $true)][string]$Name)
    Add-PSSnapin -Name $Name
}

function Get-WinExchangeCertificate {
    # Exchange's certificates on this server and the services each is bound to (Get-ExchangeCertificate:
    # .Thumbprint, and .Services, AllowedServices flags such as 'IMAP, POP, IIS, SMTP', or 'None'). Only once
    # the Exchange snap-in is loaded (Add-WinPSSnapin); the caller decides whether it can be.
    return (Get-ExchangeCertificate)
}

function Test-WinCertificate {
    # Test-Certificate -Policy SSL -DNSName (PKI module): the chain to a root this server trusts, revocation
    # and the SSL policy for that name. A failed check is a non-terminating error, such as 'A certificate chain
    # processed, but terminated in a root certificate which is not trusted by the trust provider. 0x800B0109
    # (-2146762487 CERT_E_UNTRUSTEDROOT)', and the result $false: under 'Stop' that error would end the script,
    # so it is collected. Returns {Valid, Errors (the messages)}: one call, its verdict and its errors together.
    param([Parameter(Mandatory = $true)]$Certificate, [Parameter(Mandatory = $true)][string]$DnsName)
    return (& {
            $problems = $null
            $valid = Test-Certificate -Cert $Certificate -Policy SSL -DNSName $DnsName -ErrorAction SilentlyContinue -ErrorVariable problems -WarningAction SilentlyContinue
            [pscustomobject]@{ Valid = [bool]$valid; Errors = [string[]]@(foreach ($problem in @($problems)) { [string]$problem.Exception.Message }) }
        })
}

function Get-WinHttpSslBinding {
    # netsh http show sslcert ipport=<IpPort>: HTTP.sys's SSL binding there (WinRM keeps one for each HTTPS
    # listener). Returns {ExitCode, Lines}; 'Continue' inside as in Invoke-WinRMQuickConfig. A binding lists
    # 'IP:port : 0.0.0.0:5986', 'Certificate Hash : <40 hex, lower case>' and 'Application ID : {<guid>}' (the
    # labels in the server's language); none: exit code 1 after 'The system cannot find the file specified.'
    param([Parameter(Mandatory = $true)][string]$IpPort)
    return (& {
            $ErrorActionPreference = 'Continue'
            $lines = & netsh.exe http show sslcert "ipport=$IpPort" 2>&1
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Lines = [object[]]@($lines) }
        })
}
#endregion
#region seam: Set-MonosyncFirewallRule
# The NetSecurity module (CDXML over root/StandardCimv2). Its functions live in a module, so they do not see
# the caller's $ErrorActionPreference (PowerShell issues 4568, 24389): without -ErrorAction Stop an access
# denied is only written to the error stream and the script would carry on as if the rule had been written.
# Errors as a script's catch sees them (test/powershell/SeamTestKit.psm1 New-NetSecurityError builds each):
#   no such rule      CimJobException "No MSFT_NetFirewallRule objects found with property 'Name' equal to
#                     '<name>'.  Verify the value of the property and retry.", ObjectNotFound,
#                     FQID 'CmdletizationQuery_NotFound_Name,<cmdlet>'
#   not elevated      CimException 'Access is denied. ', PermissionDenied, 'Windows System Error 5,<cmdlet>'
#   MpsSvc stopped    CimException 'There are no more endpoints available from the endpoint mapper. ',
#                     'Windows System Error 1753,<cmdlet>'
#   name taken        CimException 'Cannot create a file when that file already exists. ', 'Windows System
#                     Error 183,New-NetFirewallRule'
#   bad value         CimException, 'HRESULT 0x80070057,<cmdlet>' (an address or port Windows refuses)
function Get-WinFirewallRule {
    # The rule whose Name (its unique ID) is exactly this, in the local (persistent) store.
    param([Parameter(Mandatory = $true)][string]$Name)
    return (Get-NetFirewallRule -Name $Name -ErrorAction Stop)
}

function Get-WinFirewallPortFilter {
    # The rule's port filter: .Protocol ('TCP') and .LocalPort (strings: '5986', 'Any', 'RPC', '5000-5010').
    param([Parameter(Mandatory = $true)]$Rule)
    return (Get-NetFirewallPortFilter -AssociatedNetFirewallRule $Rule -ErrorAction Stop)
}

function Get-WinFirewallAddressFilter {
    # The rule's address filter: .RemoteAddress (strings: 'Any', '10.0.0.5', '10.0.0.0/255.255.255.0', 'LocalSubnet').
    param([Parameter(Mandatory = $true)]$Rule)
    return (Get-NetFirewallAddressFilter -AssociatedNetFirewallRule $Rule -ErrorAction Stop)
}

function Get-WinFirewallProfile {
    # The Domain, Private and Public profiles as in effect (local settings merged with Group Policy):
    # .Name, .Enabled and .AllowLocalFirewallRules (GpoBoolean: True, False or NotConfigured).
    return (Get-NetFirewallProfile -PolicyStore ActiveStore -ErrorAction Stop)
}

function New-WinFirewallRule {
    param(
        [Parameter(Mandatory = $true)][string]$Name, [Parameter(Mandatory = $true)][string]$DisplayName, [Parameter(Mandatory = $true)][string]$Description,
        [Parameter(Mandatory = $true)][string]$Direction, [Parameter(Mandatory = $true)][string]$Action, [Parameter(Mandatory = $true)][string]$Protocol,
        [Parameter(Mandatory = $true)][string[]]$LocalPort, [Parameter(Mandatory = $true)][string[]]$RemoteAddress,
        [Parameter(Mandatory = $true)][string]$FirewallProfile, [Parameter(Mandatory = $true)][string]$Enabled
    )
    # -FirewallProfile, not -Profile: $PROFILE is an automatic variable.
    return (New-NetFirewallRule -Name $Name -DisplayName $DisplayName -Description $Description -Direction $Direction -Action $Action -Protocol $Protocol -LocalPort $LocalPort -RemoteAddress $RemoteAddress -Profile $FirewallProfile -Enabled $Enabled -ErrorAction Stop)
}

function Set-WinFirewallRule {
    param(
        [Parameter(Mandatory = $true)][string]$Name, [Parameter(Mandatory = $true)][string]$Direction, [Parameter(Mandatory = $true)][string]$Action,
        [Parameter(Mandatory = $true)][string]$Protocol, [Parameter(Mandatory = $true)][string[]]$LocalPort, [Parameter(Mandatory = $true)][string[]]$RemoteAddress,
        [Parameter(Mandatory = $true)][string]$FirewallProfile, [Parameter(Mandatory = $true)][string]$Enabled
    )
    Set-NetFirewallRule -Name $Name -Direction $Direction -Action $Action -Protocol $Protocol -LocalPort $LocalPort -RemoteAddress $RemoteAddress -Profile $FirewallProfile -Enabled $Enabled -ErrorAction Stop
}

function Remove-WinFirewallRule {
    param([Parameter(Mandatory = $true)][string]$Name)
    Remove-NetFirewallRule -Name $Name -ErrorAction Stop
}
#endregion

#region seam: Test-MonosyncConnectivity
# The acceptance probes the Monosync worker runs against an Exchange server (the worker's own view of it).
function Get-WinCurrentIdentityName {
    # The account this process runs as, from its Windows token: always the down-level form 'DOMAIN\user'.
    return [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
}

function Open-WinTlsStream {
    # A TCP connection to HostName:Port inside a TLS client stream (SslStream) that will accept whatever
    # certificate the server presents: the probe records what is bound, valid or not. Disposing the stream
    # closes the connection. Nothing listening: SocketException 10061; no answer (a firewall that drops):
    # 10060 after the system's SYN retries (about 21 s); each inside MethodInvocationException.
    param([Parameter(Mandatory = $true)][string]$HostName, [Parameter(Mandatory = $true)][int]$Port)
    return (New-Object -TypeName System.Net.Security.SslStream -ArgumentList @((New-Object -TypeName System.Net.Sockets.TcpClient -ArgumentList @($HostName, $Port)).GetStream(), $false, [System.Net.Security.RemoteCertificateValidationCallback] { $true }))
}

function Invoke-WinTlsHandshake {
    # The client side of the TLS handshake on such a stream, TLS 1.0 to 1.2 (4032 = Tls 192 + Tls11 768 +
    # Tls12 3072): Windows PowerShell 5.1's .NET Framework would otherwise offer only SSL 3 and TLS 1.0 (unless
    # the registry sets SchUseStrongCrypto), which hardened Exchange servers refuse. Broken off: IOException
    # ('Authentication failed because the remote party has closed the transport stream.') or
    # AuthenticationException, inside MethodInvocationException.
    param([Parameter(Mandatory = $true)]$Stream, [Parameter(Mandatory = $true)][string]$HostName)
    $Stream.AuthenticateAsClient($HostName, $null, [System.Security.Authentication.SslProtocols]4032, $false)
}

function Get-WinTlsRemoteCertificate {
    # The certificate the server presented in that handshake, as an X509Certificate2 (.Thumbprint, .NotAfter).
    param([Parameter(Mandatory = $true)]$Stream)
    return (New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList $Stream.RemoteCertificate)
}

function Test-WinWsmanHttps {
    # Test-WSMan over HTTPS (5986) with Kerberos, as ConnectAs says (@{ Credential = <PSCredential> } for an
    # account's credential; @{} for this process's identity; the caller decides, the seam only splats): the
    # WinRM client validates the served certificate (chain, name, dates) as every client will. Failures are
    # WSMan faults (the fault XML as the message, FQID 'WsManError,Microsoft.WSMan.Management.TestWSManCommand'):
    # Code 12175 the certificate (its errors listed in the text), 2150858770 (0x80338012) nothing answers,
    # 2150859046 (0x80338126) no answer in time (a filtering firewall), 5 access denied.
    param([Parameter(Mandatory = $true)][string]$ComputerName, [hashtable]$ConnectAs = @{})
    return (Test-WSMan -ComputerName $ComputerName -UseSSL -Authentication Kerberos @ConnectAs)
}

function Test-WinRemoteSession {
    # Opens a session to ComputerName's Microsoft.PowerShell endpoint over HTTPS with Kerberos, as ConnectAs says
    # (as for Test-WinWsmanHttps), and returns what { $true } returned there. The endpoint admits
    # Administrators and Remote Management Users. Refused: PSRemotingTransportException with ErrorCode (5 access
    # denied, FQID 'AccessDenied,PSSessionStateBroken'; -2146893022 (0x80090322) a wrong SPN ...).
    param([Parameter(Mandatory = $true)][string]$ComputerName, [hashtable]$ConnectAs = @{})
    return (Invoke-Command -ComputerName $ComputerName -UseSSL -Authentication Kerberos @ConnectAs -ScriptBlock { $true })
}

function Test-WinRemoteSysvol {
    # Opens such a session and there tests the identity's access to \\<Domain>\SYSVOL: a share on a domain
    # controller, so a second hop, which only a delegated (forwarded) Kerberos ticket makes. Returns what
    # Test-Path returned there. Domain is passed in: $env:USERDNSDOMAIN is set by an interactive logon only,
    # and a WinRM session is a network logon.
    param([Parameter(Mandatory = $true)][string]$ComputerName, [Parameter(Mandatory = $true)][string]$Domain, [hashtable]$ConnectAs = @{})
    return (Invoke-Command -ComputerName $ComputerName -UseSSL -Authentication Kerberos @ConnectAs -ArgumentList $Domain -ScriptBlock {
            param($DomainName)
            Test-Path -LiteralPath ('\\' + $DomainName + '\SYSVOL')
        })
}

function Clear-WinKerberosTicket {
    # klist purge: deletes every Kerberos ticket of this logon session, so the next session asks the KDC for a
    # new service ticket (one issued before the computer was trusted for delegation lacks ok-as-delegate, and
    # the TGT is not forwarded with it). Its output ('Ticket(s) purged!') is dropped: a step prints one JSON line.
    $null = & klist.exe purge
}

function Wait-WinSeconds {
    # Start-Sleep: a pause between attempts (the tests replace it, so they never wait).
    param([Parameter(Mandatory = $true)][int]$Seconds)
    Start-Sleep -Seconds $Seconds
}
#endregion
#region seam: Enable-Remoting
# The WinRM service, the PowerShell endpoints and the one-shot scheduled task that enables remoting after the
# script has returned (the listeners: Get-WinWsmanListener above).
# The service cmdlets write their failures as ServiceCommandException ("Service '<display name> (<name>)'
# cannot be configured|started due to the following error: ...") around the Win32Exception or the
# InvalidOperationException of ServiceController; Get-StepErrorInfo reads the Win32 code of the innermost one.
function Get-WinService {
    # A ServiceController: .Status ('Running', 'Stopped', ...) and, on .NET 4.6.1 and later, .StartType
    # ('Automatic' also for delayed start, 'Manual', 'Disabled').
    param([Parameter(Mandatory = $true)][string]$Name)
    return (Get-Service -Name $Name)
}

function Get-WinCimService {
    # The Win32_Service instance of a service: .StartMode ('Auto', 'Manual', 'Disabled') where a
    # ServiceController has no StartType (.NET before 4.6.1). Access denied: CimException, FQID
    # 'HRESULT 0x80070005,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand'.
    param([Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9_.-]+\z')][string]$Name)
    return (Get-CimInstance -ClassName Win32_Service -Filter ("Name='" + $Name + "'"))
}

function Set-WinServiceStartType {
    # Set-Service -StartupType (Automatic, Manual or Disabled on Windows PowerShell 5.1). Not elevated:
    # "... cannot be configured due to the following error: Access is denied", FQID
    # 'CouldNotSetService,Microsoft.PowerShell.Commands.SetServiceCommand', PermissionDenied, Win32Exception 5 inside.
    param([Parameter(Mandatory = $true)][string]$Name, [Parameter(Mandatory = $true)][string]$StartupType)
    Set-Service -Name $Name -StartupType $StartupType
}

function Start-WinService {
    # Start-Service, which waits until the service runs. Not elevated: "... cannot be started due to the
    # following error: Cannot open WinRM service on computer '.'.", FQID 'CouldNotStartService,
    # Microsoft.PowerShell.Commands.StartServiceCommand', OpenError, Win32Exception 5 inside; a disabled
    # service: Win32Exception 1058; a dependency that failed (HTTP): 1068.
    param([Parameter(Mandatory = $true)][string]$Name)
    Start-Service -Name $Name
}

function Get-WinPSSessionConfiguration {
    # Every registered endpoint (.Name, .Enabled as text). Only while WinRM runs: it reads the WSMan: drive,
    # which offers to START a stopped WinRM service (a prompt, or without one under -Force). Not elevated:
    # InvalidOperationException 'Access is denied. To run this cmdlet, start Windows PowerShell with the "Run
    # as administrator" option.', FQID 'System.InvalidOperationException,Microsoft.PowerShell.Commands.
    # GetPSSessionConfigurationCommand'. Strict mode off: the cmdlet runs script of its own.
    Set-StrictMode -Off
    return (Get-PSSessionConfiguration)
}

function Get-WinScheduledTask {
    # Every scheduled task of the machine (MSFT_ScheduledTask: .TaskPath like '\Monosync\', .TaskName, .State
    # 'Ready'|'Running'|'Queued'|'Disabled'). All of them: Get-ScheduledTask -TaskName fails with
    # "No MSFT_ScheduledTask objects found with property 'TaskName' equal to ..." when the task is absent, which
    # is the ordinary case here, so the caller picks its own task. Not elevated: CimException 0x80070005.
    return (Get-ScheduledTask)
}

function Get-WinScheduledTaskInfo {
    # Get-ScheduledTaskInfo of one task: .LastTaskResult (the exit code of its last run; 267011 = 0x41303
    # SCHED_S_TASK_HAS_NOT_RUN, 267009 = 0x41301 SCHED_S_TASK_RUNNING), .LastRunTime.
    param([Parameter(Mandatory = $true)][string]$TaskPath, [Parameter(Mandatory = $true)][string]$TaskName)
    return (Get-ScheduledTaskInfo -TaskPath $TaskPath -TaskName $TaskName)
}

function Register-WinScheduledTask {
    # A task with no trigger (it runs when started), one action, run by -UserId as a service account with its
    # highest privileges, stopped after -ExecutionTimeLimitMinutes; -Force replaces a task of the same name.
    param(
        [Parameter(Mandatory = $true)][string]$TaskPath,
        [Parameter(Mandatory = $true)][string]$TaskName,
        [Parameter(Mandatory = $true)][string]$Execute,
        [Parameter(Mandatory = $true)][string]$Argument,
        [Parameter(Mandatory = $true)][string]$UserId,
        [Parameter(Mandatory = $true)][int]$ExecutionTimeLimitMinutes,
        [Parameter(Mandatory = $true)][string]$Description
    )
    $null = Register-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -Description $Description -Force `
        -Action (New-ScheduledTaskAction -Execute $Execute -Argument $Argument) `
        -Principal (New-ScheduledTaskPrincipal -UserId $UserId -LogonType ServiceAccount -RunLevel Highest) `
        -Settings (New-ScheduledTaskSettingsSet -ExecutionTimeLimit (New-TimeSpan -Minutes $ExecutionTimeLimitMinutes) -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -MultipleInstances IgnoreNew)
}

function Start-WinScheduledTask {
    # Starts the task now and returns at once (Task Scheduler runs it in its own process, outside this session).
    param([Parameter(Mandatory = $true)][string]$TaskPath, [Parameter(Mandatory = $true)][string]$TaskName)
    Start-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName
}

function Unregister-WinScheduledTask {
    param([Parameter(Mandatory = $true)][string]$TaskPath, [Parameter(Mandatory = $true)][string]$TaskName)
    Unregister-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -Confirm:$false
}

function Get-WinSystemServicePolicy {
    # The Group Policy 'System Services' entries in effect (Security Settings), from its RSoP logging data:
    # RSOP_SystemService with .Service (the service name, 'WinRM'), .StartupMode (2 Automatic, 3 Manual,
    # 4 Disabled: the start type every security policy refresh puts back), .GPOID, .precedence (1 wins).
    # Where no Group Policy was ever applied: CimException, FQID 'HRESULT 0x8004100e,...' or 'HRESULT 0x80041010,...'.
    return , @(Get-CimInstance -Namespace 'root\rsop\computer' -ClassName 'RSOP_SystemService' -ErrorAction Stop)
}
#endregion
#region seam: Grant-RemoteManagement
# The local group Remote Management Users (well-known SID S-1-5-32-580, its name in the machine's language),
# account names and SIDs, the machine's domain role and the ACL of a PowerShell endpoint (its endpoints:
# Get-WinPSSessionConfiguration above). The error records as Windows throws them are built by
# test/powershell/SeamTestKit.psm1 (New-LocalAccountsError, New-AdsiError, New-IdentityNotMappedError).
function Get-WinComputerSystem {
    # Win32_ComputerSystem of this machine: .DomainRole (0-5; 4 and 5 are domain controllers), .PartOfDomain.
    return (Get-CimInstance -ClassName Win32_ComputerSystem)
}

function Resolve-WinAccountSid {
    # The SID of an account name (DOMAIN\user or user@dns.domain; a domain account is looked up on a DC).
    # Unknown, or no domain to ask: MethodInvocationException around IdentityNotMappedException 'Some or all
    # identity references could not be translated.' (FQID 'IdentityNotMappedException').
    param([Parameter(Mandatory = $true)][string]$Name)
    return (New-Object -TypeName System.Security.Principal.NTAccount -ArgumentList $Name).Translate([System.Security.Principal.SecurityIdentifier]).Value
}

function Resolve-WinSidAccount {
    # The account name of a SID in the machine's language: S-1-5-32-580 is 'BUILTIN\Remote Management Users',
    # 'VORDEFINIERT\Remoteverwaltungsbenutzer', ...
    param([Parameter(Mandatory = $true)][string]$Sid)
    return (New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $Sid).Translate([System.Security.Principal.NTAccount]).Value
}

function Get-WinLocalGroupMemberSid {
    # The SIDs of a local group's direct members through ADSI (Get-LocalGroupMember throws on an orphaned SID
    # and is missing on 2012 R2), as one array (the comma keeps one member an array, none an empty one).
    # ADSI errors: MethodInvocationException (FQID 'CatchFromBaseAdapterMethodInvokeTI') around a COMException.
    param([Parameter(Mandatory = $true)][string]$GroupName)
    return , [string[]]@(@(([ADSI]('WinNT://{0}/{1},group' -f $env:COMPUTERNAME, $GroupName)).Invoke('Members')) | ForEach-Object {
            (New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList ($_.GetType().InvokeMember('objectSid', 'GetProperty', $null, $_, $null)), 0).Value
        })
}

function ConvertFrom-WinSddl {
    # An SDDL security descriptor parsed by Windows (System.Security.AccessControl; aliases such as RM and NU
    # resolved): a CommonSecurityDescriptor whose .DiscretionaryAcl holds CommonAce entries with
    # .SecurityIdentifier.Value and .AceQualifier (AccessAllowed, AccessDenied). Invalid SDDL: ArgumentException.
    param([Parameter(Mandatory = $true)][string]$Sddl)
    return (New-Object -TypeName System.Security.AccessControl.CommonSecurityDescriptor -ArgumentList $false, $false, $Sddl)
}

function Get-WinCommand {
    # The command of that name when this machine has it, else nothing: the LocalAccounts cmdlets
    # (Add-LocalGroupMember, ...) are missing on Windows Server 2012 R2 with WMF 5.1.
    param([Parameter(Mandatory = $true)][string]$Name)
    return (Get-Command -Name $Name -ErrorAction SilentlyContinue)
}

function Add-WinLocalGroupMember {
    # Add-LocalGroupMember, the group by its SID. Already a member: MemberExistsException 'CORP\x is already a
    # member of group Remote Management Users.', FQID 'MemberExists,Microsoft.PowerShell.Commands.
    # AddLocalGroupMemberCommand' (ResourceExists); not elevated: AccessDeniedException 'Access denied.', FQID
    # 'AccessDenied,...AddLocalGroupMemberCommand' (PermissionDenied).
    param([Parameter(Mandatory = $true)][string]$GroupSid, [Parameter(Mandatory = $true)][string]$MemberSid)
    Add-LocalGroupMember -SID $GroupSid -Member $MemberSid
}

function Remove-WinLocalGroupMember {
    # Remove-LocalGroupMember, the group by its SID. Not a member: MemberNotFoundException 'Member CORP\x was
    # not found in group Remote Management Users.', FQID 'MemberNotFound,Microsoft.PowerShell.Commands.
    # RemoveLocalGroupMemberCommand' (ObjectNotFound).
    param([Parameter(Mandatory = $true)][string]$GroupSid, [Parameter(Mandatory = $true)][string]$MemberSid)
    Remove-LocalGroupMember -SID $GroupSid -Member $MemberSid
}

function Add-WinAdsiGroupMember {
    # IADsGroup::Add of the member by SID (WinNT://S-1-5-...), where the LocalAccounts cmdlets are missing.
    # Already a member: COMException 0x80070562 (ERROR_MEMBER_IN_ALIAS) 'The specified account name is already
    # a member of the group.', access denied 0x80070005; each inside MethodInvocationException 'Exception
    # calling "Add" with "1" argument(s): ...' (FQID 'CatchFromBaseAdapterMethodInvokeTI').
    param([Parameter(Mandatory = $true)][string]$GroupName, [Parameter(Mandatory = $true)][string]$MemberSid)
    ([ADSI]('WinNT://{0}/{1},group' -f $env:COMPUTERNAME, $GroupName)).Add('WinNT://' + $MemberSid)
}

function Remove-WinAdsiGroupMember {
    # IADsGroup::Remove of the member by SID. Not a member: COMException 0x80070561 (ERROR_MEMBER_NOT_IN_ALIAS)
    # 'The specified account name is not a member of the group.', inside MethodInvocationException as for Add.
    param([Parameter(Mandatory = $true)][string]$GroupName, [Parameter(Mandatory = $true)][string]$MemberSid)
    ([ADSI]('WinNT://{0}/{1},group' -f $env:COMPUTERNAME, $GroupName)).Remove('WinNT://' + $MemberSid)
}

function Get-WinRestrictedGroupPolicy {
    # The Restricted Groups entries of the Group Policy in effect, from its RSoP logging data: RSOP_RestrictedGroup
    # with .GroupName ('BUILTIN\Remote Management Users' or '*S-1-5-32-580'), .Members (names or '*<SID>'; the
    # group's whole membership, which every policy refresh puts back), .MemberOf, .GPOID, .precedence (1 wins).
    # Where no Group Policy was ever applied the namespace or class does not exist: CimException, FQID
    # 'HRESULT 0x8004100e,...' (WBEM_E_INVALID_NAMESPACE) or 'HRESULT 0x80041010,...' (WBEM_E_INVALID_CLASS).
    return , @(Get-CimInstance -Namespace 'root\rsop\computer' -ClassName 'RSOP_RestrictedGroup' -ErrorAction Stop)
}
#endregion

#region seam: Get-OnboardingSnapshot
# The host facts only the preflight snapshot reads (every other read reuses the steps' functions above).
function Test-WinRegistryKey {
    # Whether a registry key exists, given as 'HKEY_LOCAL_MACHINE\...' (Exchange setup leaves
    # ...\ExchangeServer\v15\EdgeTransportRole on an Edge Transport server). Test-Path takes a key it may not
    # read for an absent one.
    param([Parameter(Mandatory = $true)][string]$Key)
    return (Test-Path -LiteralPath ('Microsoft.PowerShell.Core\Registry::' + $Key))
}

function Get-WinOperatingSystem {
    # Win32_OperatingSystem of this machine: .Caption ('Microsoft Windows Server 2019 Datacenter'), .Version
    # ('10.0.17763'). Access denied: CimException, FQID 'HRESULT 0x80070005,...GetCimInstanceCommand'.
    return (Get-CimInstance -ClassName Win32_OperatingSystem)
}

function Get-WinPowerShellVersion {
    # The version of the PowerShell this script runs in ('5.1.17763.6414' on Windows PowerShell).
    return $PSVersionTable.PSVersion.ToString()
}
#endregion
#endregion seam

function Get-LocalFqdn {
    $name = ''
    try {
        $name = Get-WinComputerName
        return ([string](Resolve-WinDnsHostName -Name $name)).ToLowerInvariant()
    } catch {
        return ([string]$name).ToLowerInvariant()
    }
}

function New-StepError {
    param([string]$Code, [string]$Class, [string]$Message)
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    $exception.Data['MonosyncCode'] = $Code
    $exception.Data['MonosyncClass'] = $Class
    return $exception
}

function New-InvalidInput {
    param([string]$Message)
    return (New-StepError -Code 'InvalidInput' -Class 'permanent' -Message $Message)
}

function Read-MonosyncRequest {
    param([Parameter(Mandatory = $true)][string]$Encoded)
    # Values arrive as data, never as command text: base64 of UTF-8 JSON {mode, params, rollbackTo}.
    try {
        $json = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($Encoded))
        $request = ConvertFrom-Json -InputObject $json
    } catch {
        throw (New-InvalidInput -Message 'RequestBase64 is not base64 of a UTF-8 JSON document')
    }
    # pwsh 7 unrolls a one-element JSON array into its element, so look at the text too.
    if (-not $json.TrimStart().StartsWith('{') -or $request -isnot [System.Management.Automation.PSCustomObject]) {
        throw (New-InvalidInput -Message 'RequestBase64 must hold a JSON object {mode, params, rollbackTo}')
    }
    return $request
}

function Get-RequestMember {
    # A member of a decoded JSON object, or $null when the object or the member is absent; safe under
    # Set-StrictMode. The comma keeps an array an array (return would unroll it).
    param($Object, [string]$Name)
    if ($Object -isnot [System.Management.Automation.PSCustomObject]) { return $null }
    $property = $Object.PSObject.Properties[$Name]
    if ($null -eq $property) { return $null }
    return , $property.Value
}

function Test-RequestMember {
    # Whether a decoded JSON object has the member at all, null or not: an optional parameter that is present
    # must hold a value ("absent" and "null" are not the same to the contract's zod schemas).
    param($Object, [string]$Name)
    return ($Object -is [System.Management.Automation.PSCustomObject] -and $null -ne $Object.PSObject.Properties[$Name])
}

function Get-RequestString {
    # A member that must be a JSON string: $null when absent or null (-Required: InvalidInput '<Label> is
    # required'), InvalidInput for any other JSON type (an array, a number, an object would otherwise be
    # turned into text by [string]) and for control characters and line breaks, which no value of the
    # contract holds (powershell/command.ts refuses the same in literals).
    param($Object, [string]$Name, [string]$Label = $Name, [switch]$Required)
    $value = Get-RequestMember -Object $Object -Name $Name
    if ($null -eq $value) {
        if ($Required) { throw (New-InvalidInput -Message "$Label is required") }
        return $null
    }
    if ($value -isnot [string]) { throw (New-InvalidInput -Message "$Label must be a string") }
    if ($value -match '[\x00-\x1F\x7F\x85\u2028\u2029]') { throw (New-InvalidInput -Message "$Label holds a control character or a line break") }
    return $value
}

function Get-RequestBoolean {
    # A member that must be a JSON boolean: [bool] would turn the string 'false' (or any text) into $true, and a
    # missing value would read as $false.
    param($Object, [string]$Name, [string]$Label = $Name)
    $value = Get-RequestMember -Object $Object -Name $Name
    if ($value -isnot [bool]) { throw (New-InvalidInput -Message "$Label must be true or false") }
    return $value
}

function Find-OrdinalMatch {
    # The element of $Set equal to $Value compared ORDINALLY ($null when none). ValidateSet, -eq, -ceq and
    # -contains compare with the culture, which ignores zero-weight characters: 'Relaxed' + NUL, U+200B or
    # U+00AD passes [ValidateSet('Relaxed')] and -ceq 'Relaxed'. Membership that guards a write uses this.
    param([string[]]$Set, [AllowNull()][string]$Value, [switch]$IgnoreCase)
    $comparison = [System.StringComparison]::Ordinal
    if ($IgnoreCase) { $comparison = [System.StringComparison]::OrdinalIgnoreCase }
    foreach ($item in $Set) {
        if ([string]::Equals($item, $Value, $comparison)) { return $item }
    }
    return $null
}

function Resolve-StepMode {
    # The mode spelled canonically, compared ordinally: ValidateSet compares with the culture and lets
    # 'apply' + U+200B through, which the envelope could not carry. Write-StepResult reports a refused mode as plan.
    param([AllowNull()][string]$Mode)
    $canonical = Find-OrdinalMatch -Set @('plan', 'apply', 'rollback') -Value $Mode -IgnoreCase
    if ($null -eq $canonical) { throw (New-InvalidInput -Message 'Mode must be plan, apply or rollback') }
    return $canonical
}

function Read-StepRequest {
    # What a step is asked to do, read the same way by every step script. From the worker: -Encoded, base64 of
    # UTF-8 JSON {mode, params, rollbackTo}. From a run by hand: the script's own -Mode and -RollbackToJson.
    # Returns Mode (resolved: canonical, or InvalidInput), RollbackTo (the saved state, unchecked: the step's
    # rollback checks it), and the request for Get-MonosyncRequestParams. The params are checked there, after
    # the script has taken the mode, so a refused parameter is reported in the mode that was asked for.
    # -Mode has the ValidateSet every script puts on its own -Mode: the request's mode is assigned to it below.
    param([string]$Encoded, [ValidateSet('plan', 'apply', 'rollback')][string]$Mode = 'plan', [string]$RollbackToJson)
    if (-not $Encoded) {
        $resolved = Resolve-StepMode -Mode $Mode
        $rollbackTo = $null
        if ($RollbackToJson) { $rollbackTo = ConvertFrom-RollbackJson -Json $RollbackToJson }
        return [pscustomobject]@{ Mode = $resolved; RollbackTo = $rollbackTo; Request = $null }
    }
    $request = Read-MonosyncRequest -Encoded $Encoded
    # Assigning re-runs the ValidateSet, as a run by hand meets it when binding: a bad mode throws InvalidInput here.
    $Mode = Get-RequestString -Object $request -Name 'mode'
    $resolved = Resolve-StepMode -Mode $Mode
    return [pscustomobject]@{ Mode = $resolved; RollbackTo = (Get-RequestMember -Object $request -Name 'rollbackTo'); Request = $request }
}

function Get-MonosyncRequestParams {
    # The params of the worker's request (Read-StepRequest): a JSON object holding only the parameters the
    # step takes ($Names, compared ordinally), as the step's zod schema (a strict object) sends them. $null on
    # a run by hand: the script's named parameters hold the values then.
    param([Parameter(Mandatory = $true)]$Step, [string[]]$Names = @())
    if ($null -eq $Step.Request) { return $null }
    $shape = '{' + ($Names -join ', ') + '}'
    $params = Get-RequestMember -Object $Step.Request -Name 'params'
    if ($params -isnot [System.Management.Automation.PSCustomObject]) { throw (New-InvalidInput -Message "params must be a JSON object $shape") }
    foreach ($property in $params.PSObject.Properties) {
        if ($null -eq (Find-OrdinalMatch -Set $Names -Value $property.Name)) { throw (New-InvalidInput -Message "params holds a member $($script:ScriptName) does not take (params is $shape)") }
    }
    return $params
}

function Get-RemoteManagementAccess {
    # Whether an endpoint's security descriptor (SDDL) admits Remote Management Users (S-1-5-32-580: an allow
    # and no deny, since a deny for the group wins over its allow) and denies NETWORK logons (S-1-5-2, what
    # Disable-PSRemoting leaves). Grant-RemoteManagement and the snapshot must report the same, so it is here.
    param([string]$Sddl)
    $allowed = $false
    $denied = $false
    $networkDenied = $false
    $aces = @()
    if ($Sddl) { $aces = (ConvertFrom-WinSddl -Sddl $Sddl).DiscretionaryAcl }
    foreach ($ace in $aces) {
        $sid = [string]$ace.SecurityIdentifier.Value
        $qualifier = [string]$ace.AceQualifier
        if ($sid -eq 'S-1-5-32-580' -and $qualifier -eq 'AccessAllowed') { $allowed = $true }
        if ($sid -eq 'S-1-5-32-580' -and $qualifier -eq 'AccessDenied') { $denied = $true }
        if ($sid -eq 'S-1-5-2' -and $qualifier -eq 'AccessDenied') { $networkDenied = $true }
    }
    return @{ AllowsGroup = ($allowed -and -not $denied); NetworkDenied = $networkDenied }
}

# Group Policy over the WinRM service, which Enable-Remoting, Set-HttpsListener and the snapshot read alike: a
# local change under it is refused or undone, so the steps report it and stop for an operator.
$script:WinRMServicePolicyKey = 'HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service'

function Get-WinRMListenerPolicy {
    # 'Windows Remote Management (WinRM) > WinRM Service > Allow remote server management through WinRM'
    # (WindowsRemoteManagement.admx: AllowAutoConfig 1 with IPv4Filter and IPv6Filter). Enabled, WinRM listens
    # only on the addresses its filters match ('*' every one, 'a-b,c-d' ranges; an EMPTY filter none of that
    # family), whatever listener is configured. $null when not enabled, else {ipv4Filter, ipv6Filter}; a
    # filter value that is not there reads as empty, as the policy editor's blank field.
    $enabled = Get-WinRegistryValue -Key $script:WinRMServicePolicyKey -Name 'AllowAutoConfig'
    if ($null -eq $enabled -or [string]$enabled -ne '1') { return $null }
    return [ordered]@{
        ipv4Filter = ([string](Get-WinRegistryValue -Key $script:WinRMServicePolicyKey -Name 'IPv4Filter')).Trim()
        ipv6Filter = ([string](Get-WinRegistryValue -Key $script:WinRMServicePolicyKey -Name 'IPv6Filter')).Trim()
    }
}

function Get-WinRMListenerPolicyProblem {
    # What an empty IPv4 filter of that policy means and how to fix it; $null when the policy leaves IPv4 alone.
    param($Policy)
    if ($null -eq $Policy -or $Policy.ipv4Filter -ne '') { return $null }
    $ipv6 = 'empty'
    if ($Policy.ipv6Filter -ne '') { $ipv6 = "'" + $Policy.ipv6Filter + "'" }
    return ("the Group Policy 'Windows Remote Management (WinRM) > WinRM Service > Allow remote server management through WinRM' sets an empty IPv4 filter (IPv6 filter $ipv6): WinRM listens on no IPv4 address of this server, whatever listener is configured here. Set that policy's IPv4 filter to * (or to ranges that hold this server's addresses), or set the policy to Not Configured; then run gpupdate /force on the server and retry")
}

function Get-WinningRsopEntry {
    # The RSoP entries of one class that take effect (precedence 1, or no precedence given), read by the seam
    # function given. No Group Policy data at all (RSoP namespace 0x8004100e or class 0x80041010 missing, as on a
    # server no policy has reached): none, so no policy owns the setting.
    param([scriptblock]$Read)
    $entries = @()
    try {
        $entries = & $Read
    } catch {
        $fqid = [string]$_.FullyQualifiedErrorId
        if ($fqid.StartsWith('HRESULT 0x8004100e,', [System.StringComparison]::OrdinalIgnoreCase) -or $fqid.StartsWith('HRESULT 0x80041010,', [System.StringComparison]::OrdinalIgnoreCase)) { return , @() }
        throw
    }
    $winning = @(foreach ($entry in @($entries)) {
            $precedence = $entry.PSObject.Properties['precedence']
            if ($null -ne $precedence -and $null -ne $precedence.Value -and [int]$precedence.Value -ne 1) { continue }
            $entry
        })
    return , $winning
}

function Get-WinRMStartPolicy {
    # A Group Policy 'System Services' entry for the WinRM service, from RSoP: $null when none (or no Group
    # Policy data at all), else {startType (Automatic, Manual, Disabled), gpo}.
    foreach ($entry in (Get-WinningRsopEntry -Read { Get-WinSystemServicePolicy })) {
        if (-not [string]::Equals([string]$entry.Service, 'WinRM', [System.StringComparison]::OrdinalIgnoreCase)) { continue }
        $modes = @{ 2 = 'Automatic'; 3 = 'Manual'; 4 = 'Disabled' }
        $startType = $modes[[int]$entry.StartupMode]
        if ($null -eq $startType) { $startType = [string]$entry.StartupMode }
        $gpo = ''
        $gpoId = $entry.PSObject.Properties['GPOID']
        if ($null -ne $gpoId -and $null -ne $gpoId.Value) { $gpo = [string]$gpoId.Value }
        return [ordered]@{ startType = $startType; gpo = $gpo }
    }
    return $null
}

function Get-WinRMStartPolicyProblem {
    # What a 'System Services' entry that does not start WinRM automatically means, and the fix; $null otherwise.
    param($Policy)
    if ($null -eq $Policy -or $Policy.startType -ceq 'Automatic') { return $null }
    return ("the Group Policy 'Security Settings > System Services' ($($Policy.gpo)) sets the WinRM service's start type to $($Policy.startType) at every policy refresh: a start type set here is put back, and WinRM does not start after the next reboot. Set 'Windows Remote Management (WS-Management)' to Automatic in that policy, or make it Not Defined; then run gpupdate /force on the server and retry")
}

function Get-RequestStringList {
    # A member that must be a JSON array of strings (null elements refused); @() when absent or null.
    # Control characters and line breaks are refused as in Get-RequestString: a ValidatePattern ending in
    # '$' accepts a value with one trailing newline ('$' matches before it).
    param($Object, [string]$Name, [string]$Label = $Name)
    $value = Get-RequestMember -Object $Object -Name $Name
    if ($null -eq $value) { return , [string[]]@() }
    if ($value -isnot [System.Array]) { throw (New-InvalidInput -Message "$Label must be an array of strings") }
    foreach ($item in $value) {
        if ($item -isnot [string]) { throw (New-InvalidInput -Message "$Label must be an array of strings") }
        if ($item -match '[\x00-\x1F\x7F\x85\u2028\u2029]') { throw (New-InvalidInput -Message "$Label holds a control character or a line break") }
    }
    return , [string[]]$value
}

function ConvertFrom-RollbackJson {
    # -RollbackToJson of a run by hand.
    param([string]$Json)
    try {
        $state = ConvertFrom-Json -InputObject $Json
    } catch {
        throw (New-InvalidInput -Message 'RollbackToJson is not a JSON document')
    }
    if (-not $Json.TrimStart().StartsWith('{')) { throw (New-InvalidInput -Message 'RollbackToJson must be a JSON object') }
    return $state
}

function Assert-RollbackState {
    # A rollback acts only on the complete saved state of the step ('before' of the earlier apply): every
    # field of the step's state schema present with its JSON type. Anything else is refused, never guessed.
    param($State, [string]$Script, [string[]]$Strings = @(), [string[]]$Booleans = @())
    $fields = @($Strings) + @($Booleans)
    $problem = "$Script -Mode rollback needs the step's earlier state (rollbackTo with $($fields -join ', '))"
    if ($State -isnot [System.Management.Automation.PSCustomObject]) { throw (New-InvalidInput -Message $problem) }
    foreach ($name in $Strings) {
        if ((Get-RequestMember -Object $State -Name $name) -isnot [string]) { throw (New-InvalidInput -Message $problem) }
    }
    foreach ($name in $Booleans) {
        if ((Get-RequestMember -Object $State -Name $name) -isnot [bool]) { throw (New-InvalidInput -Message $problem) }
    }
}

function ConvertTo-StepCode {
    # The failure code of a numeric Win32 error, HRESULT or WSMan fault code, as domain/failures.ts knows
    # them: 5 and 0x80070005 -> '5', HRESULT_FROM_WIN32 (0x8007xxxx) -> the Win32 number ('1326'),
    # 0x8033808A (a GPO-controlled WinRM setting) -> 'PolicyControlled', other codes -> '0x%08X'.
    # (Decimal literals: Windows PowerShell's 0x...L long literals trip the tree-sitter check.)
    param([long]$Number)
    $value = $Number -band 4294967295
    if ($value -eq 2150858890) { return 'PolicyControlled' }
    if ($value -gt 0 -and $value -lt 65536) { return [string]$value }
    if (($value -band 4294901760) -eq 2147942400) { return [string]($value -band 65535) }
    return ('0x{0:X8}' -f $value)
}

function Get-StepErrorClass {
    # The advisory class of a code (domain/failures.ts decides by the code itself). Only the WinRM codes of a
    # host that is restarting, unreachable or busy are transient (wsmerror.h: 0x80338012 destination
    # unreachable, 0x80338126 network timed out, 0x80338029 operation timed out, 0x80338000 resource gone,
    # 0x80338033 already exists, 0x803381A5/A7/AB shell quotas); any other 0x8033xxxx is configuration, e.g.
    # 0x80338169 (a Public network profile), and is not retried.
    param([string]$Code)
    if ($Code -eq 'PolicyControlled') { return 'policy' }
    if (@('5', '1326', '1909', '0x8009030C') -contains $Code) { return 'auth' }
    if (@('0x80338012', '0x80338126', '0x80338029', '0x80338000', '0x80338033', '0x803381A5', '0x803381A7', '0x803381AB', '995', '183', '10060', '10061') -contains $Code) { return 'transient' }
    return 'permanent'
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
    $category = [string]$Record.CategoryInfo.Category
    $errorCode = 0L
    $errorCodeProperty = $exception.PSObject.Properties['ErrorCode']
    if ($null -ne $errorCodeProperty) { [void][long]::TryParse([string]$errorCodeProperty.Value, [ref]$errorCode) }
    $nativeCode = 0L
    $accessDenied = $false
    for ($inner = $exception; $null -ne $inner; $inner = $inner.InnerException) {
        if ($inner -is [System.UnauthorizedAccessException] -or $inner -is [System.Security.SecurityException] -or $inner.HResult -eq -2147024891) { $accessDenied = $true }
        if ($inner -is [System.ComponentModel.Win32Exception] -and $nativeCode -eq 0) { $nativeCode = [long]$inner.NativeErrorCode }
    }
    # What real records carry (see test/powershell/MonosyncCommon.Tests.ps1 for each one):
    # - WSMan: provider (Get-Item/Set-Item WSMan:\...): InvalidOperationException with WinRM's message text
    #   only; the fault's code is dropped. FQID 'System.InvalidOperationException,...SetItemCommand'.
    # - WSMan cmdlets (Test-WSMan, Set-WSManInstance): the whole fault XML as message, Code in decimal
    #   (<f:WSManFault ... Code="2150858770" ...>).
    # - CIM and CDXML cmdlets (NetSecurity, CimCmdlets): FQID 'HRESULT 0x80070005,<command>' or
    #   'Windows System Error 5,<command>', category PermissionDenied.
    # - Remoting: PSRemotingTransportException with .ErrorCode; .NET and COM: HResult; Win32: NativeErrorCode.
    $faultCode = [regex]::Match($message, '<f:WSManFault\b[^>]*\bCode="(\d{1,10})"')
    $fqidHresult = [regex]::Match($fqid, '^HRESULT 0x([0-9A-Fa-f]{8})\b')
    $fqidWin32 = [regex]::Match($fqid, '^Windows System Error (\d{1,10})\b')
    $winrmCode = [regex]::Match($message, '0x8033[0-9A-Fa-f]{4}')
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
    } elseif ($errorCode -eq 8344 -or $message -like '*Insufficient access rights*') {
        $code = '8344'; $class = 'permanent'
    } elseif ($fqid -like 'Modules_ModuleNotFound*') {
        $code = 'ModuleMissing'; $class = 'precondition'
    } elseif ($exception -is [System.Management.Automation.Remoting.PSRemotingTransportException] -and $errorCode -ne 0) {
        # By its code only: a Kerberos refusal (0x80090322, 0x80090311) is a transport error too, and permanent.
        $code = ConvertTo-StepCode -Number $errorCode; $class = Get-StepErrorClass -Code $code
    } elseif ($faultCode.Success) {
        $code = ConvertTo-StepCode -Number ([long]$faultCode.Groups[1].Value); $class = Get-StepErrorClass -Code $code
    } elseif ($fqidHresult.Success) {
        $code = ConvertTo-StepCode -Number ([Convert]::ToInt64($fqidHresult.Groups[1].Value, 16)); $class = Get-StepErrorClass -Code $code
    } elseif ($fqidWin32.Success) {
        $code = ConvertTo-StepCode -Number ([long]$fqidWin32.Groups[1].Value); $class = Get-StepErrorClass -Code $code
    } elseif ($message -like '*cannot be changed because is controlled by policies*') {
        # en-US text of ERROR_WSMAN_CONFIG_CANNOT_CHANGE_GPO_CONTROLLED_SETTING, all the WSMan: provider keeps.
        $code = 'PolicyControlled'; $class = 'policy'
    } elseif ($accessDenied -or $nativeCode -eq 5 -or $fqid -like 'AccessDenied*' -or $category -eq 'PermissionDenied' -or $message -like 'Access is denied*') {
        $code = '5'; $class = 'auth'
    } elseif ($winrmCode.Success) {
        $code = ConvertTo-StepCode -Number ([Convert]::ToInt64($winrmCode.Value.Substring(2), 16)); $class = Get-StepErrorClass -Code $code
    } elseif ($nativeCode -ne 0) {
        $code = ConvertTo-StepCode -Number $nativeCode; $class = Get-StepErrorClass -Code $code
    } elseif ($exception -is [System.Security.Principal.IdentityNotMappedException]) {
        $code = 'PrincipalNotFound'; $class = 'permanent'
    } elseif ($exception -is [System.TimeoutException]) {
        $code = 'Timeout'; $class = 'transient'
    } elseif ($exception -is [System.Runtime.InteropServices.COMException]) {
        $code = ConvertTo-StepCode -Number ([long]$exception.HResult); $class = Get-StepErrorClass -Code $code
    } else {
        $code = 'PowerShellError'; $class = 'permanent'
    }
    return [ordered]@{ class = $class; code = $code; message = $message; fqid = $fqid; exceptionType = $type }
}

function Write-StepResult {
    param([string]$StepMode, [bool]$Ok = $true, [bool]$Compliant, [bool]$Changed, $Before, $After, $ErrorInfo = $null)
    # The envelope carries only a valid mode: one refused before the script took it in is reported as plan.
    $mode = Find-OrdinalMatch -Set @('plan', 'apply', 'rollback') -Value $StepMode -IgnoreCase
    if ($null -eq $mode) { $mode = 'plan' }
    $envelope = [ordered]@{
        schema    = 'monosync.onboard.step/v1'
        script    = $script:ScriptName
        target    = $script:Target
        mode      = $mode
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

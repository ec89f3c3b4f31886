# What test/powershell/RealServer.Tests.ps1 needs to run the step scripts unfaked on a real Windows lab
# server: the facts that decide whether it may run here, the one reason it refuses, and the calls the product
# would make to this server (from a fleet file, through test/powershell/real-server-calls.ts).
#
# Settings (environment variables, read once by Get-RealServerFact):
#   MONOSYNC_REAL_SERVER_FLEET   a fleet file that lists this server (required): the steps get the parameters
#                                the product would send it
#   MONOSYNC_REAL_SERVER_FQDN    this server's name in that file (default: its DNS host name)
#   MONOSYNC_REAL_SERVER_HOSTS   which roles this machine plays: exchange (default), ad, worker, comma-separated;
#                                steps that the product runs elsewhere are skipped, naming where they run
#   MONOSYNC_REAL_SERVER_APPLY   1 allows the RealServerApply tests to change this server and roll it back
#   MONOSYNC_REAL_SERVER_SETTLE_SECONDS  how long a verify may wait for a change to settle (default 60)
#
# Needs SeamTestKit.psm1 (ConvertFrom-JsonDocument, Get-SeamFunctionName) imported first.

Set-StrictMode -Version Latest

$script:RepoRoot = (Resolve-Path -LiteralPath (Join-Path -Path $PSScriptRoot -ChildPath '../..')).Path

function Get-RealServerFact {
    # This machine as the refusal rules see it. Windows PowerShell 5.1 has no $IsWindows: ask .NET.
    $isWindowsHost = [System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT
    $fact = [ordered]@{
        IsWindows    = $isWindowsHost
        OS           = [System.Environment]::OSVersion.VersionString
        IsElevated   = $false
        DomainRole   = $null
        Fqdn         = [string]$env:MONOSYNC_REAL_SERVER_FQDN
        FleetFile    = [string]$env:MONOSYNC_REAL_SERVER_FLEET
        Hosts        = @('exchange')
        ApplyAllowed = ([string]$env:MONOSYNC_REAL_SERVER_APPLY -eq '1')
        SettleSeconds = 60
    }
    if ($env:MONOSYNC_REAL_SERVER_HOSTS) {
        $fact.Hosts = @(([string]$env:MONOSYNC_REAL_SERVER_HOSTS -split ',') | ForEach-Object { $_.Trim().ToLowerInvariant() } | Where-Object { $_ })
    }
    if ($env:MONOSYNC_REAL_SERVER_SETTLE_SECONDS) { $fact.SettleSeconds = [int]$env:MONOSYNC_REAL_SERVER_SETTLE_SECONDS }
    if ($isWindowsHost) {
        $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
        $fact.IsElevated = (New-Object -TypeName System.Security.Principal.WindowsPrincipal -ArgumentList $identity).IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)
        $computer = Get-CimInstance -ClassName Win32_ComputerSystem
        # 4 backup, 5 primary domain controller.
        $fact.DomainRole = [int]$computer.DomainRole
        if (-not $fact.Fqdn) {
            $fact.Fqdn = [string]$computer.DNSHostName
            if ($computer.PartOfDomain) { $fact.Fqdn = '{0}.{1}' -f $computer.DNSHostName, $computer.Domain }
        }
    }
    return $fact
}

function Get-RealServerRefusal {
    # Why the real-server tests must not run here ($null: they may). -Apply: the tests that change the server.
    # Not Windows comes first, in one sentence, so a run on Linux or macOS says exactly that.
    param([Parameter(Mandatory = $true)]$Fact, [switch]$Apply)
    if (-not $Fact.IsWindows) {
        return ('the real-server tests run the step scripts unfaked on a Windows lab server, and this host is not Windows ({0}): nothing was run' -f $Fact.OS)
    }
    if ($Apply -and $null -ne $Fact.DomainRole -and $Fact.DomainRole -ge 4) {
        return 'this server is a domain controller: apply and rollback never change one (the product does not onboard domain controllers)'
    }
    if ($Apply -and -not $Fact.ApplyAllowed) {
        return 'apply and rollback change this server: on a lab server, set MONOSYNC_REAL_SERVER_APPLY=1 to allow them'
    }
    if (-not $Fact.IsElevated) {
        return 'run from an elevated PowerShell: the steps read WSMan:, the certificate store and local groups as an administrator'
    }
    if (-not $Fact.FleetFile) {
        return ('set MONOSYNC_REAL_SERVER_FLEET to a fleet file that lists this server ({0}): the steps get the parameters the product would send it' -f $Fact.Fqdn)
    }
    return $null
}

function Get-RealServerCall {
    # The product's calls to this server (test/powershell/real-server-calls.ts): fleet, fqdn, steps (step,
    # script, runsOn, readOnly, applies, params) and the standalone text of every script.
    param([Parameter(Mandatory = $true)]$Fact)
    $out = [System.IO.Path]::GetTempFileName()
    try {
        Push-Location -LiteralPath $script:RepoRoot
        try {
            $nodeOutput = & node --import tsx test/powershell/real-server-calls.ts $Fact.FleetFile $Fact.Fqdn $out 2>&1
        } finally {
            Pop-Location
        }
        if ($LASTEXITCODE -ne 0) { throw "node test/powershell/real-server-calls.ts failed (exit $LASTEXITCODE): $nodeOutput" }
        return (ConvertFrom-JsonDocument -Json ([System.IO.File]::ReadAllText($out)))
    } finally {
        Remove-Item -LiteralPath $out -Force -ErrorAction SilentlyContinue
    }
}

function Get-SeamAliasLeft {
    # Seam functions still replaced by a global alias (SeamTestKit's fakes): a real-server run must have none,
    # or it would not be unfaked. Written one by one.
    foreach ($name in Get-SeamFunctionName) {
        if (Test-Path -LiteralPath "alias:$name") { $name }
    }
}

Export-ModuleMember -Function Get-RealServerFact, Get-RealServerRefusal, Get-RealServerCall, Get-SeamAliasLeft

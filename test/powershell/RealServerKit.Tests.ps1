# Pester 5: when the real-server tests (RealServer.Tests.ps1) refuse to run, and why. Runs everywhere: the
# facts are given, not read from this machine.

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath 'SeamTestKit.psm1') -Force
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath 'RealServerKit.psm1') -Force

    function New-Fact {
        # An elevated Windows member server with a fleet file and the opt-in, changed by -Change.
        param([hashtable]$Change = @{})
        $fact = [ordered]@{ IsWindows = $true; OS = 'Microsoft Windows NT 10.0.20348.0'; IsElevated = $true; DomainRole = 3
            Fqdn = 'exch01.corp.example'; FleetFile = 'lab-fleet.yaml'; Hosts = @('exchange'); ApplyAllowed = $true; SettleSeconds = 60 }
        foreach ($key in $Change.Keys) { $fact[$key] = $Change[$key] }
        return $fact
    }
}

AfterAll {
    Remove-Module -Name RealServerKit -Force -ErrorAction SilentlyContinue
}

Describe 'Get-RealServerRefusal' {
    It 'lets an elevated Windows member server with a fleet file plan, and apply with the opt-in' {
        Get-RealServerRefusal -Fact (New-Fact) | Should -BeNullOrEmpty
        Get-RealServerRefusal -Fact (New-Fact) -Apply | Should -BeNullOrEmpty
    }

    It 'refuses <Case>' -ForEach @(
        @{ Case = 'a host that is not Windows, first of all'; Change = @{ IsWindows = $false; OS = 'Unix 6.8.0'; IsElevated = $false; FleetFile = '' }; Apply = $false; Reason = '*this host is not Windows (Unix 6.8.0): nothing was run' }
        @{ Case = 'a host that is not Windows, for apply too'; Change = @{ IsWindows = $false; OS = 'Unix 6.8.0' }; Apply = $true; Reason = '*this host is not Windows*' }
        @{ Case = 'apply on a primary domain controller'; Change = @{ DomainRole = 5 }; Apply = $true; Reason = '*domain controller*' }
        @{ Case = 'apply on a backup domain controller, even with the opt-in'; Change = @{ DomainRole = 4; ApplyAllowed = $true }; Apply = $true; Reason = '*domain controller*' }
        @{ Case = 'apply without MONOSYNC_REAL_SERVER_APPLY=1'; Change = @{ ApplyAllowed = $false }; Apply = $true; Reason = '*MONOSYNC_REAL_SERVER_APPLY=1*' }
        @{ Case = 'a session that is not elevated'; Change = @{ IsElevated = $false }; Apply = $false; Reason = '*elevated*' }
        @{ Case = 'no fleet file'; Change = @{ FleetFile = '' }; Apply = $false; Reason = '*MONOSYNC_REAL_SERVER_FLEET*exch01.corp.example*' }
    ) {
        Get-RealServerRefusal -Fact (New-Fact -Change $Change) -Apply:$Apply | Should -BeLike $Reason
    }

    It 'lets a domain controller plan (plan only reads)' {
        Get-RealServerRefusal -Fact (New-Fact -Change @{ DomainRole = 5 }) | Should -BeNullOrEmpty
    }

    It 'reads this host as not Windows here, where the Pester tests run on Linux' -Skip:([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT) {
        $fact = Get-RealServerFact
        $fact.IsWindows | Should -BeFalse
        Get-RealServerRefusal -Fact $fact | Should -BeLike '*this host is not Windows*'
    }
}

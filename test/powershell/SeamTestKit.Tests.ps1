# Pester 5: the facts the seam rests on, checked in real pwsh, and the kit's own behaviour. If one of these
# fails after a PowerShell or Pester upgrade, the step tests can no longer be trusted to replace Windows.

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath 'SeamTestKit.psm1') -Force
    # A script shaped like a step: defines a seam-named function, calls it from another function, prints.
    $script:Probe = @'
param([string]$RequestBase64)
function Get-WinComputerName { return 'REAL' }
function Invoke-Probe { return (Get-WinComputerName) }
'out=' + (Invoke-Probe)
'@
}

AfterAll {
    Remove-SeamFake
}

Describe 'how a test can replace a function the script defines itself' {
    AfterEach {
        Remove-SeamFake
    }

    It 'runs the script''s own function when nothing is replaced' {
        & ([scriptblock]::Create($script:Probe)).GetNewClosure() | Should -Be 'out=REAL'
    }

    It 'a global alias wins over it (aliases resolve before functions), with or without GetNewClosure' {
        Set-SeamFake -Name Get-WinComputerName -ScriptBlock { 'FAKE' }
        & ([scriptblock]::Create($script:Probe)).GetNewClosure() | Should -Be 'out=FAKE'
        & ([scriptblock]::Create($script:Probe)) | Should -Be 'out=FAKE'
        @(Get-SeamCall -Name Get-WinComputerName).Count | Should -Be 2
    }

    It 'a global function does not: the script''s own definition shadows it' {
        function global:Get-WinComputerName { 'GLOBAL' }
        try {
            & ([scriptblock]::Create($script:Probe)).GetNewClosure() | Should -Be 'out=REAL'
        } finally {
            Remove-Item -Path function:global:Get-WinComputerName
        }
    }

    It 'Pester Mock does not: its mock lives in the test''s scope, which the script''s module never sees' {
        function global:Get-WinComputerName { 'STUB' }
        try {
            Mock Get-WinComputerName { 'MOCK' }
            & ([scriptblock]::Create($script:Probe)).GetNewClosure() | Should -Be 'out=REAL'
        } finally {
            Remove-Item -Path function:global:Get-WinComputerName
        }
    }

    It 'a caller''s Set-StrictMode does not reach into the script''s module, so the kit writes it into the text' {
        $lax = "param()`n" + '$x = $notSetAnywhere; ''ran'''
        Set-StrictMode -Version Latest
        & ([scriptblock]::Create($lax)).GetNewClosure() | Should -Be 'ran'
        $strict = Add-StrictModeLine -Text ("param()`n#region monosync-common`n#endregion monosync-common`n" + '$x = $notSetAnywhere; ''ran''')
        { & ([scriptblock]::Create($strict)).GetNewClosure() } | Should -Throw '*notSetAnywhere*'
    }

    It 'an error record thrown by a fake reaches the script''s catch unchanged' {
        $record = New-WsmanProviderError -Command SetItem -Message $WinText.CbtPolicy
        Set-SeamFake -Name Get-WinComputerName -ScriptBlock { throw $record }.GetNewClosure()
        $text = "param()`nfunction Get-WinComputerName { 'REAL' }`n" + 'try { Get-WinComputerName } catch { $_.FullyQualifiedErrorId; $_.Exception.GetType().FullName; $_.Exception.HResult; [string]$_.CategoryInfo.Category; $_.Exception.Message }'
        $seen = @(& ([scriptblock]::Create($text)).GetNewClosure())
        $seen[0] | Should -Be 'System.InvalidOperationException,Microsoft.PowerShell.Commands.SetItemCommand'
        $seen[1] | Should -Be 'System.InvalidOperationException'
        $seen[2] | Should -Be -2146233079
        $seen[3] | Should -Be 'NotSpecified'
        $seen[4] | Should -Be $WinText.CbtPolicy
    }
}

Describe 'the seam region of MonosyncCommon.ps1' {
    It 'names every seam function Verb-WinNoun, with an approved verb' {
        $names = @(Get-SeamFunctionName)
        $names.Count | Should -BeGreaterThan 3
        $approved = (Get-Verb).Verb
        foreach ($name in $names) {
            $name | Should -Match '^[A-Z][a-z]+-Win[A-Z][A-Za-z]+$'
            $approved | Should -Contain ($name -split '-')[0]
        }
    }

    It 'keeps each seam function to one Windows operation: one statement besides Set-StrictMode -Off, no try, no if' {
        $text = [System.IO.File]::ReadAllText((Join-Path -Path $PSScriptRoot -ChildPath '../../powershell/MonosyncCommon.ps1'))
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($text, [ref]$null, [ref]$null)
        $functions = $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $false) | Where-Object { (Get-SeamFunctionName) -contains $_.Name }
        @($functions).Count | Should -Be @(Get-SeamFunctionName).Count
        foreach ($function in $functions) {
            $statements = @($function.Body.EndBlock.Statements | Where-Object { $_.Extent.Text -notmatch '^Set-StrictMode -Off$' })
            $statements.Count | Should -BeLessOrEqual 1 -Because "$($function.Name) performs one operation"
            $function.Body.FindAll({ param($n) $n -is [System.Management.Automation.Language.TryStatementAst] -or $n -is [System.Management.Automation.Language.IfStatementAst] }, $true) | Should -BeNullOrEmpty
        }
    }

    It 'puts every seam function behind a tripwire after Reset-SeamFake, except the machine''s name' {
        Reset-SeamFake -ComputerName 'EXCH09' -Fqdn 'exch09.corp.example'
        try {
            $text = "param()`n" + 'Get-WinComputerName; Resolve-WinDnsHostName -Name x; try { Get-WinWsmanItem -Path ''WSMan:\localhost'' } catch { $_.Exception.Message }'
            $out = @(& ([scriptblock]::Create($text)).GetNewClosure())
            $out[0] | Should -Be 'EXCH09'
            $out[1] | Should -Be 'exch09.corp.example'
            $out[2] | Should -Be 'seam function Get-WinWsmanItem is not faked in this test'
            @(Get-SeamCall -Name Get-WinWsmanItem)[0].Parameters.Path | Should -Be 'WSMan:\localhost'
        } finally {
            Remove-SeamFake
        }
    }

    It 'binds a fake''s call with the seam function''s own parameters: a wrong call fails as it would on Windows' {
        Reset-SeamFake
        try {
            Set-SeamFake -Name Get-WinRegistryValue -ScriptBlock { param($Key, $Name) "$Key|$Name" }
            $text = "param()`n" + 'Get-WinRegistryValue -Key K -Name N; try { Get-WinRegistryValue -Key K -Nmae N } catch { $_.FullyQualifiedErrorId }'
            $out = @(& ([scriptblock]::Create($text)).GetNewClosure())
            $out[0] | Should -Be 'K|N'
            $out[1] | Should -BeLike 'NamedParameterNotFound*'
        } finally {
            Remove-SeamFake
        }
    }
}

Describe 'ConvertFrom-JsonDocument: JSON the same way on Windows PowerShell 5.1 and PowerShell 7' {
    It 'keeps a one-element and an empty array arrays, inside an object and at the top' {
        $value = ConvertFrom-JsonDocument -Json '{"one":["a"],"none":[],"nested":[[1]]}'
        ($value.one -is [object[]]) | Should -BeTrue
        $value.one.Count | Should -Be 1
        ($value.none -is [object[]]) | Should -BeTrue
        $value.none.Count | Should -Be 0
        ($value.nested[0] -is [object[]]) | Should -BeTrue
        $top = ConvertFrom-JsonDocument -Json '["only"]'
        ($top -is [object[]]) | Should -BeTrue
        $top.Count | Should -Be 1
        $empty = ConvertFrom-JsonDocument -Json '[]'
        ($empty -is [object[]]) | Should -BeTrue
    }

    It 'keeps an ISO date the text it was (ConvertFrom-Json of pwsh 7 makes it a DateTime)' {
        $value = ConvertFrom-JsonDocument -Json '{"notAfter":"2027-03-01T10:00:00.000Z"}'
        $value.notAfter | Should -BeOfType [string]
        $value.notAfter | Should -BeExactly '2027-03-01T10:00:00.000Z'
    }

    It 'gives ordered dictionaries with case-sensitive keys, and keys that are no XML names' {
        $value = ConvertFrom-JsonDocument -Json '{"b":1,"a":2,"A":3,"x y":4,"":5,"item":6,"type":"t"}'
        $value | Should -BeOfType [System.Collections.Specialized.OrderedDictionary]
        @($value.Keys) | Should -Be @('b', 'a', 'A', 'x y', '', 'item', 'type')
        $value['A'] | Should -Be 3
        $value['x y'] | Should -Be 4
        $value[''] | Should -Be 5
        $value['type'] | Should -BeExactly 't'
    }

    It 'reads null, booleans, numbers and control characters as JSON means them' {
        $value = ConvertFrom-JsonDocument -Json '{"n":null,"t":true,"f":false,"i":5986,"l":4294967296,"d":-1.5,"e":1e3,"s":"a\u0000b\r\n\u00e9\"\\"}'
        $value['n'] | Should -BeNullOrEmpty
        $value.Contains('n') | Should -BeTrue
        $value['t'] | Should -BeExactly $true
        $value['f'] | Should -BeExactly $false
        $value['i'] | Should -BeOfType [int]
        $value['l'] | Should -BeOfType [long]
        $value['d'] | Should -Be -1.5
        $value['e'] | Should -Be 1000
        $value['s'] | Should -BeExactly ("a$([char]0)b`r`n$([char]0xE9)`"\")
        ConvertFrom-JsonDocument -Json 'null' | Should -BeNullOrEmpty
        ConvertFrom-JsonDocument -Json '"text"' | Should -BeExactly 'text'
    }

    It '-AsPSCustomObject gives objects whose properties can be read and set (as LabSeam does with a lab host)' {
        $value = ConvertFrom-JsonDocument -Json '{"listeners":[{"transport":"HTTPS","port":5986}],"notAfter":"2027-03-01T10:00:00.000Z"}' -AsPSCustomObject
        $value | Should -BeOfType [pscustomobject]
        ($value.listeners -is [object[]]) | Should -BeTrue
        $value.listeners[0].port | Should -Be 5986
        $value.listeners[0].port = 443
        $value.listeners[0].port | Should -Be 443
        $value.notAfter | Should -BeOfType [string]
        (ConvertTo-Json -InputObject $value -Depth 5 -Compress) | Should -BeExactly '{"listeners":[{"transport":"HTTPS","port":443}],"notAfter":"2027-03-01T10:00:00.000Z"}'
    }

    It 'refuses text that is not JSON' {
        { ConvertFrom-JsonDocument -Json '{"a":' } | Should -Throw
    }
}

Describe 'the kit hands out lists item by item' {
    It 'iterates every hostile value with foreach, and counts seam calls with @()' {
        $seen = 0
        foreach ($value in Get-HostileValue) { $value | Should -BeOfType [string]; $seen++ }
        $seen | Should -Be @(Get-HostileValue).Count
        $seen | Should -BeGreaterThan 5
        Reset-SeamFake
        try {
            & ([scriptblock]::Create("param()`nGet-WinComputerName")).GetNewClosure() | Out-Null
            @(Get-SeamCall -Name Get-WinComputerName).Count | Should -Be 1
            @(Get-SeamCall -Name Get-WinWsmanItem).Count | Should -Be 0
            Get-SeamCall -Name Get-WinWsmanItem | Should -BeNullOrEmpty
        } finally {
            Remove-SeamFake
        }
    }
}

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
        (Get-SeamCall -Name Get-WinComputerName).Count | Should -Be 2
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
        $names = Get-SeamFunctionName
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
        @($functions).Count | Should -Be (Get-SeamFunctionName).Count
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
            (Get-SeamCall -Name Get-WinWsmanItem)[0].Parameters.Path | Should -Be 'WSMan:\localhost'
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

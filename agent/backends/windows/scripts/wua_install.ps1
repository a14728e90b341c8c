<#
.SYNOPSIS
    Installs the given Windows Update ids, or with -DryRun only reports what it would install.

.DESCRIPTION
    -UpdateId takes one or more update ids (GUIDs), comma-separated, because -File passes
    every argument as a single string. Only updates that are offered and not hidden are
    considered; ids that are not offered are reported as "not_offered".

    With -DryRun the script searches and reports, and changes nothing: no EULA is accepted,
    nothing is downloaded or installed.

    Output is one JSON object on stdout: { dry_run, reboot_required, updates: [ ... ] }.
    Exit status 0 when every requested update was installed (or would be), 1 otherwise.

    Run as: powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File wua_install.ps1 -UpdateId <ids> [-DryRun]
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$UpdateId,
    [switch]$DryRun
)

$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false

# IUpdateInstallationResult.ResultCode (OperationResultCode)
$resultNames = @{ 0 = 'not_started'; 1 = 'in_progress'; 2 = 'succeeded'; 3 = 'succeeded_with_errors'; 4 = 'failed'; 5 = 'aborted' }
$rebootNames = @{ 0 = 'never'; 1 = 'required'; 2 = 'may' }

function Get-UpdateReport {
    param($Update, [string]$Status)
    $kbs = @(foreach ($kb in $Update.KBArticleIDs) { 'KB' + [string]$kb })
    [ordered]@{
        update_id = [string]$Update.Identity.UpdateID
        title     = [string]$Update.Title
        kb        = $(if ($kbs.Count -gt 0) { $kbs[0] } else { $null })
        reboot    = $rebootNames[[int]$Update.InstallationBehavior.RebootBehavior]
        size      = [int64]$Update.MaxDownloadSize
        status    = $Status
    }
}

try {
    $wanted = @($UpdateId -split ',' | ForEach-Object { $_.Trim().ToLowerInvariant() } | Where-Object { $_ })
    $session = New-Object -ComObject Microsoft.Update.Session
    $session.ClientApplicationID = 'PatchPortal agent'
    $searcher = $session.CreateUpdateSearcher()
    $offered = $searcher.Search('IsInstalled=0 and IsHidden=0').Updates

    $selected = New-Object -ComObject Microsoft.Update.UpdateColl
    $found = @{}
    foreach ($update in $offered) {
        $id = ([string]$update.Identity.UpdateID).ToLowerInvariant()
        if ($wanted -contains $id) {
            [void]$selected.Add($update)
            $found[$id] = $true
        }
    }
    $report = New-Object System.Collections.Generic.List[object]
    foreach ($id in $wanted) {
        if (-not $found.ContainsKey($id)) {
            $report.Add([ordered]@{ update_id = $id; status = 'not_offered' })
        }
    }

    if ($DryRun) {
        foreach ($update in $selected) { $report.Add((Get-UpdateReport $update 'would_install')) }
        [ordered]@{ dry_run = $true; reboot_required = $false; updates = $report.ToArray() } | ConvertTo-Json -Depth 5 -Compress
        if ($found.Count -eq $wanted.Count) { exit 0 } else { exit 1 }
    }

    $installResult = $null
    if ($selected.Count -gt 0) {
        foreach ($update in $selected) {
            if (-not $update.EulaAccepted) { $update.AcceptEula() }
        }
        $downloader = $session.CreateUpdateDownloader()
        $downloader.Updates = $selected
        [void]$downloader.Download()
        $installer = $session.CreateUpdateInstaller()
        $installer.Updates = $selected
        $installResult = $installer.Install()
    }
    $allSucceeded = $found.Count -eq $wanted.Count
    for ($index = 0; $index -lt $selected.Count; $index++) {
        $code = [int]$installResult.GetUpdateResult($index).ResultCode
        if ($code -ne 2 -and $code -ne 3) { $allSucceeded = $false }
        $report.Add((Get-UpdateReport $selected.Item($index) $resultNames[$code]))
    }
    $rebootRequired = $false
    if ($installResult) { $rebootRequired = [bool]$installResult.RebootRequired }
    [ordered]@{ dry_run = $false; reboot_required = $rebootRequired; updates = $report.ToArray() } | ConvertTo-Json -Depth 5 -Compress
    if ($allSucceeded) { exit 0 } else { exit 1 }
}
catch {
    [Console]::Error.WriteLine("Windows Update install failed: $($_.Exception.Message)")
    exit 1
}

<#
.SYNOPSIS
    Lists the updates Windows Update offers and those already installed, as JSON on stdout.

.DESCRIPTION
    Uses the Windows Update Agent API (Microsoft.Update.Session). Two searches: the offered
    updates ("IsInstalled=0 and IsHidden=0") and the installed ones ("IsInstalled=1"), which
    the portal needs to judge supersedence. Property names are WUA's own; the agent maps
    them to the portal's protocol. Read-only: nothing is downloaded or installed.

    Run as: powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File wua_scan.ps1
#>
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
# UTF-8 without a byte-order mark, whatever the console's code page is.
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false

function ConvertTo-UpdateRecord {
    param($Update)

    $categories = @(foreach ($category in $Update.Categories) {
        [ordered]@{ name = [string]$category.Name; type = [string]$category.Type }
    })
    $kbs = @(foreach ($kb in $Update.KBArticleIDs) { [string]$kb })
    $superseded = @(foreach ($id in $Update.SupersededUpdateIDs) { [string]$id })
    $deployed = $null
    if ($Update.LastDeploymentChangeTime) {
        $deployed = ([datetime]$Update.LastDeploymentChangeTime).ToString(
            'yyyy-MM-ddTHH:mm:ss', [Globalization.CultureInfo]::InvariantCulture)
    }
    $severity = $null
    if ($Update.MsrcSeverity) { $severity = [string]$Update.MsrcSeverity }

    [ordered]@{
        UpdateID                 = [string]$Update.Identity.UpdateID
        RevisionNumber           = [int]$Update.Identity.RevisionNumber
        Title                    = [string]$Update.Title
        KBArticleIDs             = $kbs
        Categories               = $categories
        MsrcSeverity             = $severity
        RebootBehavior           = [int]$Update.InstallationBehavior.RebootBehavior
        SupersededUpdateIDs      = $superseded
        MaxDownloadSize          = [int64]$Update.MaxDownloadSize
        IsInstalled              = [bool]$Update.IsInstalled
        LastDeploymentChangeTime = $deployed
    }
}

try {
    $session = New-Object -ComObject Microsoft.Update.Session
    $session.ClientApplicationID = 'PatchPortal agent'
    $searcher = $session.CreateUpdateSearcher()
    $records = New-Object System.Collections.Generic.List[object]
    foreach ($criteria in @('IsInstalled=0 and IsHidden=0', 'IsInstalled=1')) {
        $result = $searcher.Search($criteria)
        foreach ($update in $result.Updates) {
            $records.Add((ConvertTo-UpdateRecord $update))
        }
    }
    # -Depth 5: the default depth of 2 would turn the category objects into strings.
    [ordered]@{ updates = $records.ToArray() } | ConvertTo-Json -Depth 5 -Compress
    exit 0
}
catch {
    [Console]::Error.WriteLine("Windows Update search failed: $($_.Exception.Message)")
    exit 1
}

from patches.models.approvals import Approval, ApprovalOrigin, ApprovalState
from patches.models.catalogue import Classification, Patch, PatchAdvisory, PatchKind, PatchUpdate, Reboot
from patches.models.compliance import ComplianceSnapshot
from patches.models.exceptions import RiskException
from patches.models.findings import EvaluatedPackage, Finding, FindingKind, FindingState, PackageMatch
from patches.models.policies import PatchPolicy
from patches.models.scoping import Scope
from patches.models.scripts import Script, ScriptVersion

__all__ = [
    "Approval",
    "ApprovalOrigin",
    "ApprovalState",
    "Classification",
    "ComplianceSnapshot",
    "EvaluatedPackage",
    "Finding",
    "FindingKind",
    "FindingState",
    "PackageMatch",
    "Patch",
    "PatchAdvisory",
    "PatchKind",
    "PatchPolicy",
    "PatchUpdate",
    "Reboot",
    "RiskException",
    "Scope",
    "Script",
    "ScriptVersion",
]

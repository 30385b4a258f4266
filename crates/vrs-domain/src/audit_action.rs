//! What the audit log says was done: the one list of its action names. Every entry the system
//! writes names one of these; the names are stored in the log and never change, so an old log reads
//! the same. Each has a label in Japanese and English for the pages that show the log.

use std::fmt;

use crate::IssueChannel;

/// An operation as the audit log records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuditAction {
    AccountApply,
    AccountApprove,
    AccountDisable,
    AccountEnable,
    AccountIssue,
    AccountLock,
    AccountPasswordReset,
    AccountReject,
    AccountUnlock,
    AreaDelete,
    AreaDeleteConsent,
    AuditExport,
    BackupRestore,
    BackupTake,
    CertificateHistory,
    CertificateIssueApp,
    CertificateIssueCounter,
    CertificateIssueKiosk,
    CertificateRevoke,
    ClientRegister,
    ClientRemove,
    ClientToken,
    CouponRead,
    DoseAdd,
    DoseCorrect,
    DoseDelete,
    DoseRegister,
    DoseUndo,
    DosesCheck,
    DosesExport,
    DosesImport,
    DuplicatesDismiss,
    DuplicatesScan,
    DuplicatesView,
    FunctionStop,
    InquiryAnswer,
    InquirySend,
    KeyCreate,
    KeyRotate,
    KeysEscrowExport,
    KeysEscrowImport,
    KeysSigningImport,
    Login,
    Logout,
    PasswordChange,
    PersonDelete,
    PersonFlags,
    PersonMerge,
    PersonRead,
    PersonSearch,
    PersonSearchByMyNumber,
    PersonUnmerge,
    ProvisionRead,
    RecordsExport,
    StatisticsRebuild,
    TargetsImport,
    TermsAgree,
    TermsPublish,
}

impl AuditAction {
    pub const ALL: [AuditAction; 58] = [
        AuditAction::AccountApply,
        AuditAction::AccountApprove,
        AuditAction::AccountDisable,
        AuditAction::AccountEnable,
        AuditAction::AccountIssue,
        AuditAction::AccountLock,
        AuditAction::AccountPasswordReset,
        AuditAction::AccountReject,
        AuditAction::AccountUnlock,
        AuditAction::AreaDelete,
        AuditAction::AreaDeleteConsent,
        AuditAction::AuditExport,
        AuditAction::BackupRestore,
        AuditAction::BackupTake,
        AuditAction::CertificateHistory,
        AuditAction::CertificateIssueApp,
        AuditAction::CertificateIssueCounter,
        AuditAction::CertificateIssueKiosk,
        AuditAction::CertificateRevoke,
        AuditAction::ClientRegister,
        AuditAction::ClientRemove,
        AuditAction::ClientToken,
        AuditAction::CouponRead,
        AuditAction::DoseAdd,
        AuditAction::DoseCorrect,
        AuditAction::DoseDelete,
        AuditAction::DoseRegister,
        AuditAction::DoseUndo,
        AuditAction::DosesCheck,
        AuditAction::DosesExport,
        AuditAction::DosesImport,
        AuditAction::DuplicatesDismiss,
        AuditAction::DuplicatesScan,
        AuditAction::DuplicatesView,
        AuditAction::FunctionStop,
        AuditAction::InquiryAnswer,
        AuditAction::InquirySend,
        AuditAction::KeyCreate,
        AuditAction::KeyRotate,
        AuditAction::KeysEscrowExport,
        AuditAction::KeysEscrowImport,
        AuditAction::KeysSigningImport,
        AuditAction::Login,
        AuditAction::Logout,
        AuditAction::PasswordChange,
        AuditAction::PersonDelete,
        AuditAction::PersonFlags,
        AuditAction::PersonMerge,
        AuditAction::PersonRead,
        AuditAction::PersonSearch,
        AuditAction::PersonSearchByMyNumber,
        AuditAction::PersonUnmerge,
        AuditAction::ProvisionRead,
        AuditAction::RecordsExport,
        AuditAction::StatisticsRebuild,
        AuditAction::TargetsImport,
        AuditAction::TermsAgree,
        AuditAction::TermsPublish,
    ];

    /// The name stored in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::AccountApply => "account.apply",
            AuditAction::AccountApprove => "account.approve",
            AuditAction::AccountDisable => "account.disable",
            AuditAction::AccountEnable => "account.enable",
            AuditAction::AccountIssue => "account.issue",
            AuditAction::AccountPasswordReset => "account.password_reset",
            AuditAction::AccountLock => "account.lock",
            AuditAction::AccountReject => "account.reject",
            AuditAction::AccountUnlock => "account.unlock",
            AuditAction::AreaDelete => "area.delete",
            AuditAction::AreaDeleteConsent => "area.delete_consent",
            AuditAction::AuditExport => "audit.export",
            AuditAction::BackupRestore => "backup.restore",
            AuditAction::BackupTake => "backup.take",
            AuditAction::CertificateHistory => "certificate.history",
            AuditAction::CertificateIssueApp => "certificate.issue_app",
            AuditAction::CertificateIssueCounter => "certificate.issue_counter",
            AuditAction::CertificateIssueKiosk => "certificate.issue_kiosk",
            AuditAction::CertificateRevoke => "certificate.revoke",
            AuditAction::ClientRegister => "client.register",
            AuditAction::ClientRemove => "client.remove",
            AuditAction::ClientToken => "client.token",
            AuditAction::CouponRead => "coupon.read",
            AuditAction::DoseAdd => "dose.add",
            AuditAction::DoseCorrect => "dose.correct",
            AuditAction::DoseDelete => "dose.delete",
            AuditAction::DoseRegister => "dose.register",
            AuditAction::DoseUndo => "dose.undo",
            AuditAction::DosesCheck => "doses.check",
            AuditAction::DosesExport => "doses.export",
            AuditAction::DosesImport => "doses.import",
            AuditAction::DuplicatesDismiss => "duplicates.dismiss",
            AuditAction::DuplicatesScan => "duplicates.scan",
            AuditAction::DuplicatesView => "duplicates.view",
            AuditAction::FunctionStop => "function.stop",
            AuditAction::InquiryAnswer => "inquiry.answer",
            AuditAction::InquirySend => "inquiry.send",
            AuditAction::KeyCreate => "key.create",
            AuditAction::KeyRotate => "key.rotate",
            AuditAction::KeysEscrowExport => "keys.escrow_export",
            AuditAction::KeysEscrowImport => "keys.escrow_import",
            AuditAction::KeysSigningImport => "keys.signing_import",
            AuditAction::Login => "login",
            AuditAction::Logout => "logout",
            AuditAction::PasswordChange => "password.change",
            AuditAction::PersonDelete => "person.delete",
            AuditAction::PersonFlags => "person.flags",
            AuditAction::PersonMerge => "person.merge",
            AuditAction::PersonRead => "person.read",
            AuditAction::PersonSearch => "person.search",
            AuditAction::PersonSearchByMyNumber => "person.search_by_my_number",
            AuditAction::PersonUnmerge => "person.unmerge",
            AuditAction::ProvisionRead => "provision.read",
            AuditAction::RecordsExport => "records.export",
            AuditAction::StatisticsRebuild => "statistics.rebuild",
            AuditAction::TargetsImport => "targets.import",
            AuditAction::TermsAgree => "terms.agree",
            AuditAction::TermsPublish => "terms.publish",
        }
    }

    /// Whether an entry of this action may have changed the area's records (its people, their
    /// flags and their doses), after which the area's statistics are computed again. The actions
    /// that only read, search, export or check records, or concern accounts, sessions, machine
    /// clients, terms and inquiries, are listed as changing nothing; every other action, and any
    /// added later, counts as a change, so a missed one costs a recomputation, never stale figures.
    pub fn may_change_records(self) -> bool {
        use AuditAction::*;
        !matches!(
            self,
            AccountApply
                | AccountApprove
                | AccountDisable
                | AccountEnable
                | AccountIssue
                | AccountLock
                | AccountPasswordReset
                | AccountReject
                | AccountUnlock
                | AuditExport
                | BackupTake
                | CertificateHistory
                | CertificateIssueApp
                | CertificateIssueCounter
                | CertificateIssueKiosk
                | CertificateRevoke
                | ClientRegister
                | ClientRemove
                | ClientToken
                | CouponRead
                | DosesCheck
                | DosesExport
                | DuplicatesDismiss
                | DuplicatesScan
                | DuplicatesView
                | FunctionStop
                | InquiryAnswer
                | InquirySend
                | KeysEscrowExport
                | Login
                | Logout
                | PasswordChange
                | PersonRead
                | PersonSearch
                | PersonSearchByMyNumber
                | ProvisionRead
                | RecordsExport
                | TermsAgree
                | TermsPublish
        )
    }

    /// The action of a stored name; `None` for a name this build does not write.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// A certificate's issuance through `channel`.
    pub fn certificate_issue(channel: IssueChannel) -> Self {
        match channel {
            IssueChannel::Counter => AuditAction::CertificateIssueCounter,
            IssueChannel::App => AuditAction::CertificateIssueApp,
            IssueChannel::Kiosk => AuditAction::CertificateIssueKiosk,
        }
    }

    /// A signing key's creation, or its replacement when `rotate`.
    pub fn signing_key(rotate: bool) -> Self {
        if rotate {
            AuditAction::KeyRotate
        } else {
            AuditAction::KeyCreate
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            AuditAction::AccountApply => "アカウント申請",
            AuditAction::AccountApprove => "アカウント申請の承認",
            AuditAction::AccountDisable => "アカウントの利用停止",
            AuditAction::AccountEnable => "アカウントの利用再開",
            AuditAction::AccountIssue => "アカウント発行",
            AuditAction::AccountPasswordReset => "パスワードの再設定",
            AuditAction::AccountLock => "アカウントのロック",
            AuditAction::AccountReject => "アカウント申請の却下",
            AuditAction::AccountUnlock => "アカウントのロック解除",
            AuditAction::AreaDelete => "領域の消去",
            AuditAction::AreaDeleteConsent => "領域消去への同意",
            AuditAction::AuditExport => "監査ログのダウンロード",
            AuditAction::BackupRestore => "バックアップからの復元",
            AuditAction::BackupTake => "バックアップの取得",
            AuditAction::CertificateHistory => "証明書交付履歴の閲覧",
            AuditAction::CertificateIssueApp => "証明書の交付（アプリ）",
            AuditAction::CertificateIssueCounter => "証明書の交付（窓口）",
            AuditAction::CertificateIssueKiosk => "証明書の交付（コンビニ）",
            AuditAction::CertificateRevoke => "証明書の失効",
            AuditAction::ClientRegister => "連携クライアントの登録",
            AuditAction::ClientRemove => "連携クライアントの削除",
            AuditAction::ClientToken => "アクセストークンの発行",
            AuditAction::CouponRead => "接種券の読み取り",
            AuditAction::DoseAdd => "接種記録の追加",
            AuditAction::DoseCorrect => "接種記録の訂正",
            AuditAction::DoseDelete => "接種記録の削除",
            AuditAction::DoseRegister => "接種の登録（タブレット）",
            AuditAction::DoseUndo => "接種登録の取り消し",
            AuditAction::DosesCheck => "接種記録の点検",
            AuditAction::DosesExport => "接種記録のダウンロード",
            AuditAction::DosesImport => "接種記録の取り込み",
            AuditAction::DuplicatesDismiss => "重複候補の却下",
            AuditAction::DuplicatesScan => "重複の検出",
            AuditAction::DuplicatesView => "重複候補の閲覧",
            AuditAction::FunctionStop => "機能の停止・再開",
            AuditAction::InquiryAnswer => "照会への回答",
            AuditAction::InquirySend => "接種記録の照会",
            AuditAction::KeyCreate => "署名鍵の作成",
            AuditAction::KeyRotate => "署名鍵の更新",
            AuditAction::KeysEscrowExport => "鍵の預託ファイルの書き出し",
            AuditAction::KeysEscrowImport => "鍵の預託ファイルの読み込み",
            AuditAction::KeysSigningImport => "署名鍵の読み込み",
            AuditAction::Login => "ログイン",
            AuditAction::Logout => "ログアウト",
            AuditAction::PasswordChange => "パスワードの変更",
            AuditAction::PersonDelete => "個人の削除",
            AuditAction::PersonFlags => "転出・死亡の設定",
            AuditAction::PersonMerge => "個人の統合",
            AuditAction::PersonRead => "個人の閲覧",
            AuditAction::PersonSearch => "個人の検索",
            AuditAction::PersonSearchByMyNumber => "個人番号による検索",
            AuditAction::PersonUnmerge => "統合の取り消し",
            AuditAction::ProvisionRead => "提供記録の閲覧",
            AuditAction::RecordsExport => "照会結果のダウンロード",
            AuditAction::StatisticsRebuild => "統計の再計算",
            AuditAction::TargetsImport => "対象者の取り込み",
            AuditAction::TermsAgree => "規約への同意",
            AuditAction::TermsPublish => "規約の公開",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            AuditAction::AccountApply => "Account applied for",
            AuditAction::AccountApprove => "Account application approved",
            AuditAction::AccountDisable => "Account stopped",
            AuditAction::AccountEnable => "Account let in again",
            AuditAction::AccountIssue => "Account issued",
            AuditAction::AccountPasswordReset => "Password reset",
            AuditAction::AccountLock => "Account locked",
            AuditAction::AccountReject => "Account application rejected",
            AuditAction::AccountUnlock => "Account unlocked",
            AuditAction::AreaDelete => "Area erased",
            AuditAction::AreaDeleteConsent => "Consent to erase the area",
            AuditAction::AuditExport => "Audit log downloaded",
            AuditAction::BackupRestore => "Backup restored",
            AuditAction::BackupTake => "Backup taken",
            AuditAction::CertificateHistory => "Certificate history viewed",
            AuditAction::CertificateIssueApp => "Certificate issued (app)",
            AuditAction::CertificateIssueCounter => "Certificate issued (counter)",
            AuditAction::CertificateIssueKiosk => "Certificate issued (kiosk)",
            AuditAction::CertificateRevoke => "Certificate revoked",
            AuditAction::ClientRegister => "Client registered",
            AuditAction::ClientRemove => "Client removed",
            AuditAction::ClientToken => "Access token issued",
            AuditAction::CouponRead => "Coupon read",
            AuditAction::DoseAdd => "Dose added",
            AuditAction::DoseCorrect => "Dose corrected",
            AuditAction::DoseDelete => "Dose deleted",
            AuditAction::DoseRegister => "Dose registered (tablet)",
            AuditAction::DoseUndo => "Dose registration undone",
            AuditAction::DosesCheck => "Doses checked",
            AuditAction::DosesExport => "Doses downloaded",
            AuditAction::DosesImport => "Doses imported",
            AuditAction::DuplicatesDismiss => "Duplicate candidate dismissed",
            AuditAction::DuplicatesScan => "Duplicate scan",
            AuditAction::DuplicatesView => "Duplicate candidates viewed",
            AuditAction::FunctionStop => "Function stopped or resumed",
            AuditAction::InquiryAnswer => "Inquiry answered",
            AuditAction::InquirySend => "Inquiry sent",
            AuditAction::KeyCreate => "Signing key created",
            AuditAction::KeyRotate => "Signing key rotated",
            AuditAction::KeysEscrowExport => "Key escrow exported",
            AuditAction::KeysEscrowImport => "Key escrow imported",
            AuditAction::KeysSigningImport => "Signing key imported",
            AuditAction::Login => "Sign-in",
            AuditAction::Logout => "Sign-out",
            AuditAction::PasswordChange => "Password changed",
            AuditAction::PersonDelete => "Person deleted",
            AuditAction::PersonFlags => "Moved-out / deceased flags set",
            AuditAction::PersonMerge => "People merged",
            AuditAction::PersonRead => "Person viewed",
            AuditAction::PersonSearch => "Person search",
            AuditAction::PersonSearchByMyNumber => "Search by My Number",
            AuditAction::PersonUnmerge => "Merge undone",
            AuditAction::ProvisionRead => "Provision records viewed",
            AuditAction::RecordsExport => "Inquiry results downloaded",
            AuditAction::StatisticsRebuild => "Statistics recomputed",
            AuditAction::TargetsImport => "Targets imported",
            AuditAction::TermsAgree => "Terms agreed",
            AuditAction::TermsPublish => "Terms published",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_one_name_and_both_labels() {
        let mut names = std::collections::HashSet::new();
        for action in AuditAction::ALL {
            assert!(names.insert(action.as_str()), "{action:?} repeats a name");
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
            assert!(!action.label_ja().is_empty() && !action.label_en().is_empty());
            assert!(
                !action.label_ja().is_ascii(),
                "{action:?} has no Japanese label"
            );
        }
        assert_eq!(AuditAction::parse("no.such"), None);
    }

    #[test]
    fn what_changes_records_is_told_apart_from_reads() {
        for changes in [
            AuditAction::DoseRegister,
            AuditAction::DoseCorrect,
            AuditAction::DoseDelete,
            AuditAction::DoseUndo,
            AuditAction::DosesImport,
            AuditAction::TargetsImport,
            AuditAction::PersonFlags,
            AuditAction::PersonMerge,
            AuditAction::PersonDelete,
            AuditAction::BackupRestore,
            AuditAction::StatisticsRebuild,
            AuditAction::KeyRotate,
        ] {
            assert!(changes.may_change_records(), "{changes:?}");
        }
        for reads in [
            AuditAction::PersonSearch,
            AuditAction::PersonSearchByMyNumber,
            AuditAction::PersonRead,
            AuditAction::RecordsExport,
            AuditAction::Login,
        ] {
            assert!(!reads.may_change_records(), "{reads:?}");
        }
    }
}

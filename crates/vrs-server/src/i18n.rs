//! Japanese by default, English on request (the `vrs_lang` cookie). Every text a page shows comes
//! from [`Text`], so the two languages cannot drift apart silently: a new text is a compile error
//! until both are written.

use axum_extra::extract::CookieJar;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn from_cookies(jar: &CookieJar) -> Self {
        match jar.get("vrs_lang").map(|c| c.value()) {
            Some("en") => Lang::En,
            _ => Lang::Ja,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Text {
    SystemName,
    SignIn,
    SignOut,
    UserId,
    Password,
    CurrentPassword,
    NewPassword,
    NewPasswordAgain,
    ChangePassword,
    MustChangePassword,
    PasswordChanged,
    PasswordsDiffer,
    BadCredentials,
    Menu,
    Terminal,
    Lgwan,
    Internet,
    OtherLanguage,
    PasswordRules,
    /// Under a chart with withheld values: what `<10` and `X` mean.
    WithheldMarks,
    /// Under a line chart with withheld values: they are not drawn.
    WithheldGaps,
    /// Error pages: the heading for each kind of refusal, what to do, and the way back.
    ErrorForbidden,
    ErrorNotFound,
    ErrorMethod,
    ErrorInvalid,
    ErrorTooMany,
    ErrorInternal,
    ErrorUnavailable,
    ErrorOther,
    WhatToDo,
    HintForbidden,
    HintNotFound,
    HintInvalid,
    HintRetryLater,
    HintInternal,
    ErrorCode,
    BackToMenu,
}

pub fn t(lang: Lang, text: Text) -> &'static str {
    use Text::*;
    match (lang, text) {
        (Lang::Ja, SystemName) => "ワクチン接種記録システム (VRS)",
        (Lang::En, SystemName) => "Vaccination Record System (VRS)",
        (Lang::Ja, SignIn) => "ログイン",
        (Lang::En, SignIn) => "Sign in",
        (Lang::Ja, SignOut) => "ログアウト",
        (Lang::En, SignOut) => "Sign out",
        (Lang::Ja, UserId) => "ユーザID",
        (Lang::En, UserId) => "User ID",
        (Lang::Ja, Password) => "パスワード",
        (Lang::En, Password) => "Password",
        (Lang::Ja, CurrentPassword) => "現在のパスワード",
        (Lang::En, CurrentPassword) => "Current password",
        (Lang::Ja, NewPassword) => "新しいパスワード",
        (Lang::En, NewPassword) => "New password",
        (Lang::Ja, NewPasswordAgain) => "新しいパスワード（確認）",
        (Lang::En, NewPasswordAgain) => "New password again",
        (Lang::Ja, ChangePassword) => "パスワード変更",
        (Lang::En, ChangePassword) => "Change password",
        (Lang::Ja, MustChangePassword) => "初期パスワードのままです。新しいパスワードを設定してください。",
        (Lang::En, MustChangePassword) => "You are using the initial password. Please set a new one.",
        (Lang::Ja, PasswordChanged) => "パスワードを変更しました。新しいパスワードでログインしてください。",
        (Lang::En, PasswordChanged) => "Your password was changed. Please sign in with the new one.",
        (Lang::Ja, PasswordsDiffer) => "確認欄のパスワードが一致しません。",
        (Lang::En, PasswordsDiffer) => "The two new passwords differ.",
        (Lang::Ja, BadCredentials) => "ユーザIDまたはパスワードが正しくありません。",
        (Lang::En, BadCredentials) => "The user ID or the password is wrong.",
        (Lang::Ja, Menu) => "メニュー",
        (Lang::En, Menu) => "Menu",
        (Lang::Ja, Terminal) => "端末",
        (Lang::En, Terminal) => "Terminal",
        (Lang::Ja, Lgwan) => "LG-WAN端末",
        (Lang::En, Lgwan) => "LG-WAN terminal",
        (Lang::Ja, Internet) => "インターネット",
        (Lang::En, Internet) => "Internet",
        (Lang::Ja, OtherLanguage) => "English",
        (Lang::En, OtherLanguage) => "日本語",
        (Lang::Ja, PasswordRules) => "12文字以上で、英小文字・英大文字・数字・記号のうち3種類以上を含め、ユーザIDを含めないでください。",
        (Lang::En, PasswordRules) => "At least 12 characters, mixing three of lower-case, upper-case, digits and symbols, without the user ID.",
        (Lang::Ja, WithheldMarks) => "「<10」は10未満、「X」は他の値の逆算を防ぐための秘匿です。",
        (Lang::En, WithheldMarks) => "<10 is a count below 10; X is hidden so that no small count can be recovered.",
        (Lang::Ja, WithheldGaps) => "「<10」「X」の値は秘匿のため描いていません（線は途切れます）。",
        (Lang::En, WithheldGaps) => "Values shown as <10 or X are withheld and not drawn (the line breaks).",
        (Lang::Ja, ErrorForbidden) => "この操作は許可されていません",
        (Lang::En, ErrorForbidden) => "This is not allowed",
        (Lang::Ja, ErrorNotFound) => "ページが見つかりません",
        (Lang::En, ErrorNotFound) => "Page not found",
        (Lang::Ja, ErrorMethod) => "この操作はこのページでは行えません",
        (Lang::En, ErrorMethod) => "This page does not take that request",
        (Lang::Ja, ErrorInvalid) => "入力内容を確認してください",
        (Lang::En, ErrorInvalid) => "Please check what was entered",
        (Lang::Ja, ErrorTooMany) => "操作が集中しています",
        (Lang::En, ErrorTooMany) => "Too many requests",
        (Lang::Ja, ErrorInternal) => "システムエラーが発生しました",
        (Lang::En, ErrorInternal) => "The system failed",
        (Lang::Ja, ErrorUnavailable) => "ただいま利用できません",
        (Lang::En, ErrorUnavailable) => "Not available at the moment",
        (Lang::Ja, ErrorOther) => "処理できませんでした",
        (Lang::En, ErrorOther) => "The request could not be handled",
        (Lang::Ja, WhatToDo) => "対処方法",
        (Lang::En, WhatToDo) => "What to do",
        (Lang::Ja, HintForbidden) => "この操作が必要な場合は、権限のある担当者または所属の管理者にご相談ください。LG-WAN端末でのみ行える操作もあります。",
        (Lang::En, HintForbidden) => "If you need this, ask a colleague who has the right, or your administrator. Some operations are possible only from an LG-WAN terminal.",
        (Lang::Ja, HintNotFound) => "URLに誤りがないか確認するか、メニューから操作をやり直してください。",
        (Lang::En, HintNotFound) => "Check the address, or start again from the menu.",
        (Lang::Ja, HintInvalid) => "ブラウザの「戻る」で前のページに戻り、内容を直してからもう一度送信してください。",
        (Lang::En, HintInvalid) => "Go back with the browser's Back button, correct the entry and send it again.",
        (Lang::Ja, HintRetryLater) => "しばらく待ってから、もう一度お試しください。",
        (Lang::En, HintRetryLater) => "Wait a moment, then try again.",
        (Lang::Ja, HintInternal) => "時間をおいてもう一度お試しください。続く場合は、エラーコードと時刻を添えてシステムの運用担当に連絡してください。",
        (Lang::En, HintInternal) => "Try again later. If it persists, tell the system's operators the error code and the time.",
        (Lang::Ja, ErrorCode) => "エラーコード",
        (Lang::En, ErrorCode) => "Error code",
        (Lang::Ja, BackToMenu) => "メニューへ戻る",
        (Lang::En, BackToMenu) => "Back to the menu",
    }
}

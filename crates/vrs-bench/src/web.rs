//! Signing in to a running `vrs serve` as a person would: the login form with its CSRF token, and the
//! first-login password change when the account is due one.

use crate::Failure;

/// The value of the hidden field `name` in an HTML page.
pub fn hidden(body: &str, name: &str) -> Option<String> {
    let at = body.find(&format!("name=\"{name}\""))?;
    let tag_start = body[..at].rfind('<')?;
    let tag = &body[tag_start..at + body[at..].find('>')?];
    let v = tag.find("value=\"")? + "value=\"".len();
    Some(tag[v..v + tag[v..].find('"')?].to_owned())
}

/// Signs in with `password`; when the account must change it first, changes it to
/// `Bench-{password}-9x` and signs in again. The client keeps the session cookie.
pub async fn sign_in(
    client: &reqwest::Client,
    url: &str,
    user: &str,
    password: &str,
) -> Result<(), Failure> {
    let login = |password: String| async move {
        let page = client
            .get(format!("{url}/login"))
            .send()
            .await?
            .text()
            .await?;
        let csrf = hidden(&page, "csrf").ok_or("no csrf on /login")?;
        let r = client
            .post(format!("{url}/login"))
            .form(&[("user_id", user), ("password", &password), ("csrf", &csrf)])
            .send()
            .await?;
        Ok::<_, Failure>(
            r.headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned),
        )
    };
    let mut to = login(password.to_owned()).await?;
    if to.as_deref() == Some("/password") {
        let fresh = format!("Bench-{password}-9x");
        let page = client
            .get(format!("{url}/password"))
            .send()
            .await?
            .text()
            .await?;
        let csrf = hidden(&page, "csrf").ok_or("no csrf on /password")?;
        client
            .post(format!("{url}/password"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("current", password),
                ("new", &fresh),
                ("again", &fresh),
            ])
            .send()
            .await?;
        to = login(fresh).await?;
    }
    if to.as_deref() != Some("/") {
        return Err(format!("sign-in failed (redirect to {to:?})").into());
    }
    Ok(())
}

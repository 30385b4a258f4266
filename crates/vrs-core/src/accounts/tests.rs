use vrs_crypto::password;
use vrs_domain::UserId;

use super::login::dummy_hash;
use super::*;

#[test]
fn password_policy() {
    let saijo = UserId::parse("saijo-0001").unwrap();
    assert_eq!(
        check_password_policy(&saijo, "Short1!"),
        Err(PasswordPolicyError::TooShort)
    );
    assert_eq!(
        check_password_policy(&saijo, "alllowercaseletters"),
        Err(PasswordPolicyError::TooSimple)
    );
    assert_eq!(
        check_password_policy(&saijo, "Xsaijo-0001yZ9"),
        Err(PasswordPolicyError::ContainsUserId)
    );
    assert!(check_password_policy(&saijo, "Vaccine-Record-2026").is_ok());
    assert!(check_password_policy(&saijo, "ワクチン記録Record2026").is_ok());
}

#[test]
fn dummy_hash_is_a_valid_argon2_hash() {
    assert!(!password::verify_password("anything", dummy_hash()));
    assert!(dummy_hash().starts_with("$argon2id$"));
}

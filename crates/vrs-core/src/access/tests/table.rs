//! Table-driven tests over every role, action, terminal and kind of target: nothing outside the
//! allow table is ever allowed, everything in it is allowed somewhere, and the prohibitions hold
//! even if the allow table were to allow everything (deny wins).

use super::super::action::TargetKind;
use super::super::rules::{PROHIBITIONS, SCOPES};
use super::*;

/// A target of the kind in the principals' own municipality (西条市) and prefecture (愛媛県).
pub(crate) fn sample_target(kind: TargetKind) -> Target {
    match kind {
        TargetKind::Nation => Target::Nation,
        TargetKind::Prefecture => Target::Prefecture(ehime()),
        TargetKind::Municipality => Target::Municipality(saijo()),
        TargetKind::Person => Target::Person { home: saijo() },
        TargetKind::Coupon => Target::Coupon {
            municipality: saijo(),
        },
        TargetKind::Dose => Target::Dose {
            home: saijo(),
            registered_by: String::new(),
        },
        TargetKind::Inquiry => Target::Inquiry {
            requester: saijo(),
            holder: chiyoda(),
        },
    }
}

/// Every shape of target, inside and outside the principal's area, with doses it registered.
fn every_target(p: &Principal) -> Vec<Target> {
    let mut targets = vec![
        Target::Nation,
        Target::Prefecture(ehime()),
        Target::Prefecture(tokyo()),
    ];
    for m in [saijo(), matsuyama(), chiyoda()] {
        targets.push(Target::Municipality(m));
        targets.push(Target::Person { home: m });
        targets.push(Target::Coupon { municipality: m });
        targets.push(Target::Dose {
            home: m,
            registered_by: p.user.clone(),
        });
    }
    targets.push(Target::Inquiry {
        requester: saijo(),
        holder: chiyoda(),
    });
    targets.push(Target::Inquiry {
        requester: chiyoda(),
        holder: saijo(),
    });
    targets.push(Target::Inquiry {
        requester: chiyoda(),
        holder: matsuyama(),
    });
    targets
}

fn every_principal() -> Vec<Principal> {
    Role::ALL
        .into_iter()
        .flat_map(|role| [Terminal::Lgwan, Terminal::Internet].map(|t| principal(role, t)))
        .collect()
}

#[test]
fn the_allow_table_names_every_role_once() {
    let roles: Vec<Role> = allow_table().iter().map(|(role, _)| *role).collect();
    let mut sorted = roles.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), roles.len());
    assert_eq!(sorted, Role::ALL.to_vec());
}

#[test]
fn anything_not_in_the_allow_table_is_denied() {
    let mut checked = 0;
    for p in every_principal() {
        for &action in Action::ALL {
            if allowed_actions(p.role).contains(&action) {
                continue;
            }
            for target in every_target(&p) {
                assert!(
                    !decide(&p, action, &target).is_allowed(),
                    "{:?} from {:?} may {action:?} on {target:?}",
                    p.role,
                    p.terminal
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn everything_in_the_allow_table_is_allowed_somewhere() {
    for (role, actions) in allow_table() {
        for &action in *actions {
            let somewhere = [Terminal::Lgwan, Terminal::Internet].into_iter().any(|t| {
                let p = principal(*role, t);
                every_target(&p)
                    .iter()
                    .any(|target| decide(&p, action, target).is_allowed())
            });
            assert!(somewhere, "{role:?} can never {action:?}");
        }
    }
}

#[test]
fn prohibitions_hold_even_if_the_allow_table_allowed_everything() {
    for p in every_principal() {
        for &action in Action::ALL {
            for target in every_target(&p) {
                let denial = PROHIBITIONS
                    .iter()
                    .chain(SCOPES)
                    .find_map(|rule| rule(&p, action, &target));
                let case = format!("{:?} {:?} {action:?} {target:?}", p.role, p.terminal);
                // On a target the action is not defined on, "target_mismatch" comes first.
                let fits = action.target_kinds().contains(&TargetKind::of(&target));
                let expect = |reason| {
                    if fits {
                        Some(reason)
                    } else {
                        Some(TargetMismatch)
                    }
                };
                if p.role.is_government() && action.touches_person_data() {
                    assert_eq!(denial, expect(StatisticsOnly), "{case}");
                }
                if p.role == Role::SiteTablet && action.uses_my_number() {
                    assert_eq!(denial, expect(MyNumberOnSiteTablet), "{case}");
                }
                if action.uses_my_number() && p.terminal == Terminal::Internet {
                    assert!(denial.is_some(), "{case}");
                }
                if p.role == Role::SiteTablet && action.browses_people() {
                    assert!(denial.is_some(), "{case}");
                }
                let own = Some(Area::Municipality(saijo()));
                if p.role.is_municipal() && Some(target.area(action)) != own {
                    assert!(denial.is_some(), "{case}");
                }
            }
        }
    }
}

#[test]
fn every_deny_reason_is_reachable() {
    let mut seen = std::collections::HashSet::new();
    for p in every_principal() {
        let mut bare = p.clone();
        bare.municipality = None;
        bare.prefecture = None;
        let mut stranger = p.clone();
        stranger.user = "someone-else".into();
        let mut machine = p.clone();
        machine.scopes = Some(super::super::Scopes::parse("coupons.read").unwrap());
        for q in [p, bare, stranger, machine] {
            for &action in Action::ALL {
                for target in every_target(&principal(q.role, q.terminal)) {
                    if let Decision::Deny(reason) = decide(&q, action, &target) {
                        seen.insert(reason);
                    }
                }
            }
        }
    }
    for reason in DenyReason::ALL {
        assert!(seen.contains(&reason), "{reason:?} never given");
    }
}

/// A token's scopes only narrow: whatever a principal with scopes may do, the same principal
/// without them (the role alone) may do too, and nothing outside its scopes is ever allowed.
#[test]
fn scopes_never_widen_what_a_role_may_do() {
    use super::super::{Scope, Scopes};
    for p in every_principal() {
        for scope in Scope::ALL {
            let mut machine = p.clone();
            machine.scopes = Some(Scopes::new([*scope]));
            for &action in Action::ALL {
                for target in every_target(&principal(p.role, p.terminal)) {
                    if decide(&machine, action, &target).is_allowed() {
                        assert!(
                            decide(&p, action, &target).is_allowed(),
                            "{scope:?} widened {action:?} for {p:?}"
                        );
                        assert!(scope.actions().contains(&action), "{scope:?} {action:?}");
                    }
                }
            }
        }
    }
}

//! Power/availability state machine shared by servers and appliances.
//!
//! Transitions are evaluated lazily against a simulated clock (wall time plus an admin-controlled
//! offset) so nothing runs in the background, tests can jump forward deterministically, and the
//! state file can hold pending transitions as plain timestamps.

use crate::model::{Availability, InstanceStatus, Power, Transition};

/// A power request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerOp {
    /// `PUT …/power`.
    Boot,
    /// `DELETE …/power`.
    Shutdown,
}

/// Why a power request or a delete was refused; each maps to a 409.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Still being created (`Availability: migrating`): `still_creating`.
    StillCreating,
    /// Boot on something already up or booting.
    AlreadyUp,
    /// Shutdown on something already down or shutting down.
    AlreadyDown,
    /// Delete on something not fully down.
    NotDown,
}

/// A resource that has just been created and boots itself after `delay_ms` (appliances). Not
/// settled here even for a zero delay: the create response always shows `migrating`/`down`, as
/// clients expect to poll.
pub fn created_booting(now_ms: u64, delay_ms: u64) -> Power {
    Power {
        status: InstanceStatus::Down,
        before_status: None,
        availability: Availability::Migrating,
        changed_at_ms: now_ms,
        pending: Some(Transition {
            due_ms: now_ms.saturating_add(delay_ms),
            status: InstanceStatus::Up,
            availability: Availability::Available,
        }),
    }
}

/// A resource that exists in a settled state (seeded servers and appliances). `BeforeStatus` is
/// the opposite state, as if it had been powered once, like the real fixtures show.
pub fn settled(now_ms: u64, status: InstanceStatus) -> Power {
    Power {
        status,
        before_status: Some(if status == InstanceStatus::Up {
            InstanceStatus::Down
        } else {
            InstanceStatus::Up
        }),
        availability: Availability::Available,
        changed_at_ms: now_ms,
        pending: None,
    }
}

/// Apply the pending transition if it is due. Returns whether anything changed.
pub fn settle(p: &mut Power, now_ms: u64) -> bool {
    match p.pending {
        Some(t) if t.due_ms <= now_ms => {
            finish(p, t);
            true
        }
        _ => false,
    }
}

/// Apply the pending transition now, whatever its due time (the admin "advance" hook).
pub fn complete(p: &mut Power) -> bool {
    match p.pending {
        Some(t) => {
            finish(p, t);
            true
        }
        None => false,
    }
}

fn finish(p: &mut Power, t: Transition) {
    if p.status != t.status {
        p.before_status = Some(p.status);
    }
    p.status = t.status;
    p.availability = t.availability;
    p.changed_at_ms = t.due_ms;
    p.pending = None;
}

fn heading_to(p: &Power) -> InstanceStatus {
    p.pending.map_or(p.status, |t| t.status)
}

/// Start a boot or shutdown, or say why not. Boot keeps `down` until the delay passes; shutdown
/// shows `cleaning` until it passes, as the real API and the Go fake do.
pub fn request(p: &mut Power, op: PowerOp, delay_ms: u64, now_ms: u64) -> Result<(), Refusal> {
    if p.availability == Availability::Migrating {
        return Err(Refusal::StillCreating);
    }
    let due_ms = now_ms.saturating_add(delay_ms);
    match op {
        PowerOp::Boot => {
            if heading_to(p) == InstanceStatus::Up || p.status != InstanceStatus::Down {
                return Err(Refusal::AlreadyUp);
            }
            p.pending = Some(Transition {
                due_ms,
                status: InstanceStatus::Up,
                availability: p.availability,
            });
        }
        PowerOp::Shutdown => {
            if p.status != InstanceStatus::Up {
                return Err(Refusal::AlreadyDown);
            }
            p.before_status = Some(p.status);
            p.status = InstanceStatus::Cleaning;
            p.changed_at_ms = now_ms;
            p.pending = Some(Transition {
                due_ms,
                status: InstanceStatus::Down,
                availability: p.availability,
            });
        }
    }
    settle(p, now_ms);
    Ok(())
}

/// Whether the resource may be deleted (appliances must be fully down).
pub fn check_deletable(p: &Power) -> Result<(), Refusal> {
    if p.availability == Availability::Migrating {
        return Err(Refusal::StillCreating);
    }
    if p.status != InstanceStatus::Down || p.pending.is_some() {
        return Err(Refusal::NotDown);
    }
    Ok(())
}

/// Force a settled status immediately (admin power hook).
pub fn force(p: &mut Power, status: InstanceStatus, now_ms: u64) {
    if p.status != status {
        p.before_status = Some(p.status);
        p.changed_at_ms = now_ms;
    }
    p.status = status;
    if p.availability == Availability::Migrating {
        p.availability = Availability::Available;
    }
    p.pending = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_then_boot_after_delay() {
        let mut p = created_booting(1_000, 500);
        assert_eq!(
            (p.availability, p.status),
            (Availability::Migrating, InstanceStatus::Down)
        );
        assert!(!settle(&mut p, 1_499));
        assert_eq!(
            request(&mut p, PowerOp::Boot, 0, 1_200),
            Err(Refusal::StillCreating)
        );
        assert_eq!(check_deletable(&p), Err(Refusal::StillCreating));
        assert!(settle(&mut p, 1_500));
        assert_eq!(
            (p.availability, p.status),
            (Availability::Available, InstanceStatus::Up)
        );
        assert_eq!(p.before_status, Some(InstanceStatus::Down));
    }

    #[test]
    fn zero_delay_settles_on_the_next_look() {
        let mut p = created_booting(1_000, 0);
        assert_eq!(
            (p.availability, p.status),
            (Availability::Migrating, InstanceStatus::Down)
        );
        assert!(settle(&mut p, 1_000));
        assert_eq!(
            (p.availability, p.status),
            (Availability::Available, InstanceStatus::Up)
        );
    }

    #[test]
    fn shutdown_goes_through_cleaning() {
        let mut p = settled(0, InstanceStatus::Up);
        assert_eq!(
            request(&mut p, PowerOp::Boot, 10, 0),
            Err(Refusal::AlreadyUp)
        );
        request(&mut p, PowerOp::Shutdown, 10, 0).unwrap();
        assert_eq!(p.status, InstanceStatus::Cleaning);
        assert_eq!(
            request(&mut p, PowerOp::Shutdown, 10, 5),
            Err(Refusal::AlreadyDown)
        );
        assert_eq!(check_deletable(&p), Err(Refusal::NotDown));
        assert!(settle(&mut p, 10));
        assert_eq!(p.status, InstanceStatus::Down);
        assert_eq!(check_deletable(&p), Ok(()));
        assert_eq!(
            request(&mut p, PowerOp::Shutdown, 10, 20),
            Err(Refusal::AlreadyDown)
        );
    }

    #[test]
    fn boot_in_progress_refuses_second_boot_and_delete() {
        let mut p = settled(0, InstanceStatus::Down);
        request(&mut p, PowerOp::Boot, 100, 0).unwrap();
        assert_eq!(p.status, InstanceStatus::Down);
        assert_eq!(
            request(&mut p, PowerOp::Boot, 100, 1),
            Err(Refusal::AlreadyUp)
        );
        assert_eq!(check_deletable(&p), Err(Refusal::NotDown));
        assert!(complete(&mut p));
        assert_eq!(p.status, InstanceStatus::Up);
    }

    #[test]
    fn force_clears_pending() {
        let mut p = created_booting(0, 1_000);
        force(&mut p, InstanceStatus::Down, 5);
        assert_eq!(
            (p.availability, p.status, p.pending),
            (Availability::Available, InstanceStatus::Down, None)
        );
    }
}

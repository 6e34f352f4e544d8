//! Who is acting: the authenticated staff member behind a request, and what their role lets them
//! do. Kept apart from [`crate::auth`] (which proves who the caller is) so that [`crate::audit`]
//! can record actors without depending on authentication, and authentication can record audit
//! entries without a cycle.

use crate::domain::Role;
use crate::error::AppError;

/// The authenticated staff member behind a request (set by [`crate::auth::staff_gate`]).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: String,
    pub role: Role,
    /// The organization an organizer belongs to.
    pub organization_id: Option<String>,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// National admins only.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden("this needs a national admin".into()))
        }
    }

    /// Admins and organizers (organizations, venues, events, registrants, reports). Experts get 403.
    pub fn require_staff_manager(&self) -> Result<(), AppError> {
        match self.role {
            Role::Admin | Role::Organizer => Ok(()),
            Role::Expert => Err(AppError::Forbidden("experts manage only their own profile and bookings".into())),
        }
    }
}

//! Authentication: password hashing (A2), the A3 lockout, and signed bearer tokens (A4). Pure
//! mechanisms; the login and account routes in `http::accounts` use them.

pub mod lockout;
pub mod password;
pub mod token;

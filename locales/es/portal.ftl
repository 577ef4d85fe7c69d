# Los textos en español del portal. Cada clave existe en cada idioma (una prueba lo comprueba).

skip-to-content = Ir al contenido
nav-label = Principal
nav-home = Mis licencias y grupos
nav-signed-in-as = Sesión iniciada como
nav-logout = Cerrar sesión
nav-login = Iniciar sesión
nav-register = Crear cuenta
lang-label = Idioma

error-title = Algo salió mal
error-back = Volver a la página de inicio
error-general = No ha funcionado. Inténtelo de nuevo.
error-csrf = Este formulario ha caducado o no procede de este sitio. Vuelva atrás, recargue la página y envíelo de nuevo.
error-internal = Algo salió mal por nuestra parte; no se ha cambiado nada.
error-unavailable = El servicio no está disponible por un momento; no se ha cambiado nada. Inténtelo de nuevo enseguida.
error-not-found = Esta página no existe.
error-forbidden = No puede abrir esta página.
error-too-many = Demasiadas solicitudes. Espere unos minutos y vuelva a intentarlo.

field-email = Correo electrónico
field-password = Contraseña
field-name = Nombre
password-hint = Al menos 8 caracteres.

register-title = Cree su cuenta
register-button = Crear cuenta
register-have-account = ¿Ya tiene una cuenta?

login-title = Iniciar sesión
login-button = Iniciar sesión
login-no-account = ¿Es nuevo aquí?
login-invalid = El correo o la contraseña no son correctos.
login-locked = Demasiados intentos fallidos desde esta dirección. Espere { $minutes ->
    [one] un minuto
   *[other] { $minutes } minutos
} y vuelva a intentarlo.

welcome-title = Sus licencias de software, en un solo lugar
welcome-lead = Active las claves de licencia y los códigos de invitación que ha recibido, vea los grupos a los que pertenece y libere sus puestos cuando pierda un portátil.
welcome-step-register = Cree una cuenta con su dirección de correo.
welcome-step-activate = Active una clave de licencia o únase a su grupo con su código de invitación.
welcome-step-use = Inicie la aplicación: ocupa un puesto y lo devuelve al cerrarla.

home-title = Mis licencias y grupos
home-empty = Aún no tiene licencias. Active una clave de licencia o un código de invitación para empezar.
home-own-pool = Mi grupo
home-shared-pool = Compartido conmigo por { $owner }
pool-id = Grupo
pool-type = Tipo
pool-capacity = Puestos
pool-in-use = En uso
licenses-caption = Licencias
license-id = Licencia
license-seats = Puestos
license-expires = Caduca
license-permanent = Nunca
home-manage = Gestionar este grupo: invitaciones, miembros, puestos y ajustes
home-no-seats = Ahora no ocupa ningún puesto en este grupo.
home-my-seats-caption = Mis puestos en este grupo
seat-device = Dispositivo
seat-platform = Plataforma
seat-since = Desde

type-commercial = Comercial
type-educational = Educativa
type-government = Administración
type-student = Estudiante
type-semester = Semestre
type-trial = Prueba
platform-windows = Windows
platform-mac = Mac
platform-web = Web

err-invalid-email = Esta no es una dirección de correo.
err-weak-password = La contraseña debe tener al menos 8 caracteres.
err-invalid-value = Revise sus datos: un nombre tiene de 1 a 100 caracteres imprimibles y una contraseña como mucho 1024 bytes.
err-email-taken = Ya existe una cuenta con este correo. Inicie sesión.
err-legacy-license-key = Esta clave pertenece a una generación anterior del producto y no se puede activar aquí.
err-malformed-code = No es una clave de licencia (R-XXX-XXX-XXX-XXX-XXX-XXX) ni un código de invitación (I-XXX-XXX-XXX-XXX).
err-unknown-code = Ninguna licencia ni grupo tiene este código. Compruebe que esté bien escrito.
err-license-already-activated = Otra cuenta ya ha activado esta licencia.
err-license-expired = Esta licencia ha caducado.
err-license-type-mismatch = Su grupo tiene licencias de otro tipo; esta licencia no puede unirse a él.
err-own-pool = Este es el código de invitación de su propio grupo. Compártalo con otros.
err-member-blocked = El propietario del grupo le ha bloqueado.
err-join-restricted = Este grupo solo admite miembros con direcciones de correo de su organización.
err-rate-limited = Demasiadas solicitudes desde su red o para su cuenta. Espere { $minutes ->
    [one] un minuto
   *[other] { $minutes } minutos
} y vuelva a intentarlo.
err-too-many-attempts = Demasiados códigos que no funcionaron. Espere { $minutes ->
    [one] un minuto
   *[other] { $minutes } minutos
} y vuelva a intentarlo.

nav-activate = Activar
activate-title = Activar una licencia o unirse a un grupo
activate-field = Clave de licencia o código de invitación
activate-hint = Una clave de licencia tiene la forma R-61F-5C0-587-0F5-3A5-CBA y un código de invitación I-123-456-789-ABC. Los espacios y los guiones que falten no importan.
activate-button = Activar
activate-added-license = La licencia { $license } ({ $type }, { $seats } puestos) se ha añadido a su grupo.
activate-license-already = La licencia { $license } ya está activa en su grupo.
activate-joined = Se ha unido al grupo de { $owner }.
activate-member-already = Ya es miembro del grupo de { $owner }.
join-title = Unirse a un grupo
join-pool-of = El grupo de { $owner }
join-owner = Propietario
join-code = Código de invitación
join-confirm = ¿Unirse a este grupo? Después podrá ocupar un puesto en él cada vez que inicie la aplicación.
join-button = Unirse
join-sign-in-first = Inicie sesión o cree una cuenta primero; después volverá aquí.
join-unknown = Este enlace de invitación no funciona: el código es desconocido o se ha sustituido por uno nuevo. Pida el enlace actual al propietario del grupo.
err-email-unconfirmed = Confirme primero su dirección de correo: siga el enlace que le enviamos o envíelo de nuevo desde su página de inicio.

nav-invitations = Mis invitaciones
nav-seats = Mis puestos
invitations-title = Mis invitaciones
invitations-empty = No es miembro de ningún grupo. Pida a un administrador de licencias un código o enlace de invitación.
invitations-contact = Contactar al propietario
invitations-leave = Abandonar
invitations-blocked = El propietario le ha bloqueado en este grupo: no puede ocupar puestos en él.
invitations-left = Ha abandonado el grupo { $pool }. Sus puestos en él se han liberado; con el código de invitación puede volver a unirse.
leave-title = ¿Abandonar este grupo?
leave-question = ¿Abandonar el grupo de { $owner }? Sus puestos en él se liberan de inmediato y necesitará el código de invitación para volver a unirse.
leave-cancel = Cancelar
seats-title = Mis puestos
seats-lead = Cada dispositivo que ocupa ahora un puesto. Un dispositivo liberado sabrá el motivo en su próximo latido y pedirá de nuevo al usarse.
seats-empty = Ninguno de sus dispositivos ocupa ahora un puesto.
seats-caption = Dispositivos que ocupan un puesto
seats-free-all = Liberar mis puestos
seats-release = Liberar
seats-actions = Acciones
seats-last-heartbeat = Último latido
seats-offline-until = Sin conexión hasta
seats-none-value = –
seats-released = Se ha liberado el puesto { $seat }.
seats-freed = { $count ->
    [one] Se ha liberado un puesto.
   *[other] Se han liberado { $count } puestos.
}

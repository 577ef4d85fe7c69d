# Iniciar sesión, confirmar el correo, restablecer la contraseña y los correos de ello.

forgot-link = ¿Ha olvidado su contraseña?
verify-resend-link = Enviar de nuevo el enlace de confirmación
verify-resend-title = Enviar de nuevo el enlace de confirmación
verify-resend-button = Enviar el enlace de nuevo
verify-resent = Si una cuenta con esta dirección aún espera su confirmación, le hemos enviado un enlace nuevo. Los enlaces anteriores ya no funcionan.
verify-title = Confirme su dirección de correo
verify-button = Confirmar mi dirección de correo
verify-done = Su dirección de correo está confirmada. Ya puede activar licencias y unirse a grupos.
verify-pending = Confirme su dirección de correo con el enlace que enviamos a { $email }. Hasta entonces no puede activar licencias ni unirse a grupos.
link-expired-title = Este enlace ya no funciona
link-expired = Este enlace ya se usó, se sustituyó por uno más reciente o ha caducado.
forgot-title = Restablecer la contraseña
forgot-lead = Escriba la dirección de correo de su cuenta. Le enviaremos un enlace para establecer una contraseña nueva; funciona durante una hora.
forgot-button = Enviar enlace de restablecimiento
forgot-sent = Si existe una cuenta con esta dirección, le hemos enviado un enlace para establecer una contraseña nueva. Funciona una hora y una sola vez; los enlaces anteriores ya no funcionan.
reset-title = Establecer una contraseña nueva
reset-field = Contraseña nueva
reset-button = Establecer contraseña
reset-done = Su contraseña nueva está establecida. Por seguridad se ha cerrado su sesión en todas partes y las aplicaciones le pedirán que inicie sesión de nuevo.
mail-verify-subject = Confirme su dirección de correo para seatbroker
mail-verify-body = Hola, { $name }:

    confirme su dirección de correo abriendo este enlace:

    { $link }

    El enlace funciona durante { $hours } horas. Si no ha creado una cuenta, ignore este correo.
mail-reset-subject = Contraseña nueva para seatbroker
mail-reset-body = Hola, { $name }:

    alguien (esperamos que usted) ha pedido establecer una contraseña nueva para su cuenta. Abra este enlace para hacerlo:

    { $link }

    El enlace funciona { $hours ->
        [one] una hora
       *[other] { $hours } horas
    } y una sola vez. Si no lo ha pedido, ignore este correo; su contraseña no cambia.

nav-profile = Perfil
profile-title = Perfil
profile-account = Su cuenta
profile-id = Identificador de cuenta
profile-email-fixed = Su dirección de correo no se puede cambiar aquí; si necesita otra, el soporte traslada sus licencias a una cuenta nueva.
profile-language = Idioma del portal y de los correos
profile-language-button = Guardar idioma
profile-language-saved = Su idioma se ha guardado.
profile-current-password = Contraseña actual
profile-password-button = Cambiar contraseña
profile-password-changed = Su contraseña se ha cambiado.
profile-wrong-password = La contraseña actual no es correcta; no se ha cambiado nada.
profile-everywhere-button = Cerrar sesión en todas partes
profile-everywhere-lead = Cierra todas las sesiones de esta cuenta en todos los navegadores y obliga a todas las aplicaciones a iniciar sesión de nuevo: para un portátil perdido o un ordenador compartido.
profile-delete-heading = Eliminar mi cuenta
profile-delete-lead = Elimina esta cuenta para siempre: se liberan todos sus puestos, sale de todos los pools a los que se unió, se cierran las sesiones de todos los navegadores y aplicaciones, y la dirección de correo puede registrarse de nuevo. Una cuenta que tiene licencias no puede eliminarse: soporte primero las transfiere a otra cuenta.
profile-delete-password = Su contraseña, para confirmar
profile-delete-button = Eliminar mi cuenta
profile-delete-wrong-password = La contraseña es incorrecta; la cuenta no se eliminó.
profile-delete-owns-licenses = Esta cuenta tiene licencias, por eso no se eliminó. Pida a soporte que las transfiera primero a otra cuenta.
profile-deleted-title = Su cuenta está eliminada
profile-deleted-lead = Sus puestos están liberados, ha salido de todos los pools y se han cerrado las sesiones de todos los navegadores y aplicaciones. Puede registrarse de nuevo con el mismo correo.
profile-deleted-register = Registrar una cuenta nueva

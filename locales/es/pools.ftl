# La página del propietario de un pool (/pools/{id}): invitación, miembros, puestos,
# ajustes, uso. Cada clave existe en todos los idiomas (lo comprueba una prueba unitaria).

pool-admin-title = Administrar el pool { $pool }
pool-admin-waiting = En espera
pool-admin-sections = Secciones de esta página
pool-admin-licenses = Licencias
pool-admin-no-licenses = Este pool no tiene licencias.
pool-admin-add-license = Añadir una licencia
pool-admin-invitation = Invitación
pool-admin-members = Miembros
pool-admin-seats = Puestos
pool-admin-settings = Ajustes
pool-admin-usage = Uso
pool-admin-actions = Acciones

pool-admin-invite-intro = Cualquiera que tenga este código o enlace puede unirse a su pool y ocupar un puesto en él. Compártalo con su grupo, por ejemplo por correo electrónico.
pool-admin-invite-code = Código de invitación
pool-admin-invite-url = Enlace de invitación
pool-admin-copy = Copiar
pool-admin-copied = Se ha copiado el enlace de invitación.
pool-admin-copy-failed = Aquí no se pudo copiar. Seleccione el enlace de invitación y cópielo usted.
pool-admin-rotate = Renovar el código
pool-admin-rotate-hint = Renovar crea un código y un enlace nuevos; los actuales dejan de funcionar de inmediato. Los miembros siguen en el pool.
pool-admin-not-shareable = Las licencias de tipo { $type } son personales y no se pueden compartir: este pool no tiene código de invitación ni miembros.
pool-admin-done-rotated = Se ha sustituido el código de invitación. El código nuevo es { $code }; el código y el enlace anteriores ya no funcionan.

pool-admin-domain = Quién puede unirse
pool-admin-domain-anyone = Ahora puede unirse cualquiera que tenga el código o el enlace.
pool-admin-domain-now = Ahora solo pueden unirse personas con una dirección de correo de { $domain } o de uno de sus subdominios.
pool-admin-domain-field = Dominio de correo
pool-admin-domain-hint = Por ejemplo uni.edu; también se admiten sus subdominios. Deje el campo vacío para que cualquiera con el código pueda unirse. Los miembros que ya se unieron se quedan.
pool-admin-domain-save = Guardar la restricción
pool-admin-domain-invalid = El dominio de correo debe ser un dominio como uni.edu, o vacío para cualquiera.
pool-admin-done-domain = Guardado: la restricción se aplica a todos los que se unan a partir de ahora.

pool-admin-no-members = Todavía no se ha unido nadie. Comparta el código o el enlace de invitación.
pool-admin-members-hint = Bloquear libera de inmediato los puestos del miembro; un miembro bloqueado sigue en la lista y no puede ocupar un puesto hasta que se desbloquee. Quitar saca al miembro de la lista; puede volver a unirse con el código.
pool-admin-members-caption = Miembros ({ $count })
pool-admin-member-email = Correo electrónico
pool-admin-member-name = Nombre
pool-admin-member-status = Estado
pool-admin-member-seats = Puestos en uso
pool-admin-status-active = Activo
pool-admin-status-blocked = Bloqueado
pool-admin-block = Bloquear
pool-admin-unblock = Desbloquear
pool-admin-remove = Quitar
pool-admin-done-blocked = El miembro está bloqueado; se han liberado sus puestos.
pool-admin-done-unblocked = El miembro está desbloqueado y puede volver a ocupar un puesto.
pool-admin-done-removed = Se ha quitado al miembro del pool.

pool-admin-no-seats = Ahora mismo no hay ningún puesto ocupado.
pool-admin-seats-hint = Puestos ocupados: { $held }; usan { $in_use } de la capacidad del pool (dos equipos de escritorio del propietario comparten uno). Liberar un puesto lo deja libre de inmediato; la aplicación de ese equipo recibe el aviso de que se le retiró el puesto.
pool-admin-seat-holder = Ocupado por
pool-admin-seat-owner = { $name } (propietario)
pool-admin-seat-deadline = Plazo del latido
pool-admin-seat-offline-until = Reservado sin conexión hasta { $time }
pool-admin-seat-no-heartbeat = Se mantiene sin latidos
pool-admin-release = Liberar
pool-admin-done-released = Se ha liberado el puesto; ahora está disponible para otra persona.
pool-admin-done-seat-gone = Este puesto ya estaba libre.

pool-admin-timeout = Tiempo límite de latido (segundos)
pool-admin-timeout-hint = Se libera un puesto cuya aplicación no ha enviado ningún latido durante este tiempo. De 1 a { $max } segundos; 28800 son 8 horas.
pool-admin-offline = Límite sin conexión (días)
pool-admin-offline-hint = El tiempo máximo durante el que un miembro puede reservar un puesto para trabajar sin conexión. De 0 (sin uso sin conexión) a { $max } días.
pool-admin-idle = Recuperación por inactividad (segundos)
pool-admin-idle-hint = Cuando alguien espera, se puede recuperar un puesto cuyo usuario ha estado inactivo durante este tiempo. De 1 a { $max } segundos; déjelo vacío para desactivarlo.
pool-admin-settings-save = Guardar los ajustes
pool-admin-bounds-timeout = El tiempo límite de latido debe ser de { $min } a { $max } segundos. No se ha cambiado nada.
pool-admin-bounds-offline = El límite sin conexión debe ser de { $min } a { $max } días. No se ha cambiado nada.
pool-admin-bounds-idle = La recuperación por inactividad debe ser de { $min } a { $max } segundos, o vacía para desactivarla. No se ha cambiado nada.
pool-admin-done-settings = Se han guardado los ajustes.

pool-admin-usage-hint = El máximo de puestos en uso a la vez cada día (UTC), frente a la capacidad del pool. Los días en que se rechazaron solicitudes de puesto están marcados; indican que el pool necesita más puestos.
pool-admin-legend-peak = Máximo de puestos en uso
pool-admin-legend-capacity = Capacidad
pool-admin-legend-refusals = Solicitudes rechazadas
pool-admin-usage-7 = Últimos 7 días
pool-admin-usage-30 = Últimos { $days } días
pool-admin-usage-caption = { $period }, por día
pool-admin-usage-date = Fecha
pool-admin-usage-peak = Máximo
pool-admin-usage-capacity = Puestos
pool-admin-usage-refusals = Rechazos
pool-admin-chart-summary = { $period }: máximo de puestos en uso a la vez: { $peak }; capacidad actual: { $capacity }; solicitudes rechazadas: { $refusals }.
pool-admin-chart-day = { $date }: máximo { $peak } de { $capacity }, { $refusals } rechazadas
# El día bajo un gráfico: MM es el mes, DD el día, ambos con dos cifras.
pool-admin-chart-date = DD/MM

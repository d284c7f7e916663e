
$
var_list
save_counter*
 
a
b
scoped/c*
MG
VARIABLE_VALUEsave_counter'save_counter/.ATTRIBUTES/VARIABLE_VALUE*
@:
VARIABLE_VALUEa%var_list/a/.ATTRIBUTES/VARIABLE_VALUE*
@:
VARIABLE_VALUEb%var_list/b/.ATTRIBUTES/VARIABLE_VALUE*
OI
VARIABLE_VALUEscoped/c-var_list/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE*
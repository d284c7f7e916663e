
0
	model
	optimizer
save_counter*
4
	extra

layers
	named
nameless*

iterm*
MG
VARIABLE_VALUEsave_counter'save_counter/.ATTRIBUTES/VARIABLE_VALUE*

	0

1*

0
1*


scoped/x.y*
A;
VARIABLE_VALUE)model/nameless/.ATTRIBUTES/VARIABLE_VALUE*
LF
VARIABLE_VALUE	Adam/iter)optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE*
JD
VARIABLE_VALUEVariable(model/extra/0/.ATTRIBUTES/VARIABLE_VALUE*
JD
VARIABLE_VALUEVariable(model/extra/1/.ATTRIBUTES/VARIABLE_VALUE*

bias

kernel*


kernel*
NH
VARIABLE_VALUEx3model/named/scoped.Sx..y/.ATTRIBUTES/VARIABLE_VALUE*
RL
VARIABLE_VALUE
dense/bias.model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE*
VP
VARIABLE_VALUEdense/kernel0model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE*
XR
VARIABLE_VALUEdense_1/kernel0model/layers/1/kernel/.ATTRIBUTES/VARIABLE_VALUE*
ys
VARIABLE_VALUEAdam/m/dense/kernelLmodel/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE*
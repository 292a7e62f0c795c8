# The notes' first Keras network on synthetic 2-D data: 2 inputs, 4 sigmoid hidden units named
# 'hidden', one sigmoid output, binary cross-entropy, Adam(lr=0.01); trained in rounds of 50
# epochs with the loss and accuracy measured after each, then the hidden units' responses over
# the unit square through Model(inputs=model.input, outputs=hidden.output).  Then the notes'
# exercise: 32 sigmoid units fitted to a noisy sine with mean squared error, after clear_session().
# Only the imports name chainrule.keras.
import numpy as np
import matplotlib.pyplot as plt

from chainrule.keras.models import Model, Sequential
from chainrule.keras.layers import Dense, Activation
import chainrule.keras.optimizers as optimizers
import chainrule.keras.backend as K

# Synthetic data: points in the unit square whose class is given by a kite-shaped region that no
# single line separates, with 8% of the labels flipped.
np.random.seed(0)
nsamp = 400
nx = 2
X = np.random.uniform(0, 1, (nsamp, nx))
inside = (X[:, 0] + X[:, 1] > 0.8) & (X[:, 1] - X[:, 0] < 0.3) & (X[:, 0] + X[:, 1] < 1.6) & \
         (X[:, 0] - X[:, 1] < 0.45)
flip = np.random.uniform(0, 1, nsamp) < 0.08
y = (inside ^ flip).astype(int)

K.clear_session()
nin = nx
nh = 4
nout = 1
model = Sequential()
model.add(Dense(units=nh, input_shape=(nx,), activation='sigmoid', name='hidden'))
model.add(Dense(units=nout, activation='sigmoid', name='output'))
model.summary()

opt = optimizers.Adam(lr=0.01)
model.compile(optimizer=opt, loss='binary_crossentropy', metrics=['accuracy'])

model.fit(X, y, epochs=10, batch_size=100)

nit = 20
nepoch_per_it = 50
loss = np.zeros(nit)
acc = np.zeros(nit)
epoch_it = np.zeros(nit)
for it in range(nit):
    init_epoch = it * nepoch_per_it
    model.fit(X, y, epochs=nepoch_per_it, batch_size=100, verbose=0)
    lossi, acci = model.evaluate(X, y, verbose=0)
    epochi = (it + 1) * nepoch_per_it
    epoch_it[it] = epochi
    loss[it] = lossi
    acc[it] = acci
    print("epoch=%4d loss=%12.4e acc=%7.5f" % (epochi, lossi, acci))

# the network's output over the unit square
xmin = [0, 0]
xmax = [1, 1]
nplot = 100
x0plot = np.linspace(xmin[0], xmax[1], nplot)
x1plot = np.linspace(xmin[0], xmax[1], nplot)
x0mat, x1mat = np.meshgrid(x0plot, x1plot)
Xplot = np.column_stack([x0mat.ravel(), x1mat.ravel()])
yplot = model.predict(Xplot)
yplot_mat = yplot[:, 0].reshape((nplot, nplot))
plt.imshow(np.flipud(yplot_mat), extent=[xmin[0], xmax[0], xmin[0], xmax[1]], cmap=plt.cm.Reds)
plt.colorbar()
plt.show()

# each hidden unit's response: a model from the same input to the hidden layer's output
layer_hid = model.get_layer('hidden')
model1 = Model(inputs=model.input, outputs=layer_hid.output)
zhid_plot = model1.predict(Xplot)
zhid_plot = zhid_plot.reshape((nplot, nplot, nh))
for i in range(nh):
    plt.subplot(1, nh, i + 1)
    plt.imshow(np.flipud(zhid_plot[:, :, i]), extent=[xmin[0], xmax[0], xmin[0], xmax[1]], cmap=plt.cm.Reds)
plt.show()

# Exercise: 32 sigmoid hidden units, no output activation, fitted to a noisy sine
ntr = 100
xtr = np.random.rand(ntr)
ytr = np.sin(2 * np.pi * xtr) + np.random.normal(0, 0.1, ntr)
K.clear_session()
nh_sine = 32
model_sine = Sequential()
model_sine.add(Dense(units=nh_sine, input_shape=(1,), activation='sigmoid', name='hidden'))
model_sine.add(Dense(units=1, activation=None, name='output'))
model_sine.compile(optimizer=optimizers.Adam(lr=0.01), loss='mean_squared_error', metrics=['mean_squared_error'])
sine_epochs = 2000
model_sine.fit(xtr, ytr, epochs=sine_epochs, batch_size=100, verbose=0)
sine_mse = model_sine.evaluate(xtr, ytr, verbose=0)[0]
xplot_sine = np.linspace(0, 1, 200)
plt.plot(xtr, ytr, 'o')
plt.plot(xplot_sine, model_sine.predict(xplot_sine)[:, 0])
plt.show()

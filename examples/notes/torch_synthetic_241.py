# The notes' first PyTorch network on synthetic 2-D data: Net(nin, nh) with a sigmoid hidden layer
# of 4 units and a sigmoid output, a TensorDataset and DataLoader of 100-sample batches, BCELoss,
# Adam(lr=0.03), accuracy under torch.no_grad() every epoch; then the output and the hidden units
# over the unit square.  Only the imports name chainrule.torch.
import numpy as np
import matplotlib.pyplot as plt
import chainrule.torch as torch
import chainrule.torch.nn as nn
import chainrule.torch.optim as optim
from chainrule.torch.utils.data import DataLoader, TensorDataset

# Synthetic data: the kite-shaped region of the Keras version, 8% of the labels flipped.
np.random.seed(0)
nsamp = 400
nx = 2
X = np.random.uniform(0, 1, (nsamp, nx))
inside = (X[:, 0] + X[:, 1] > 0.8) & (X[:, 1] - X[:, 0] < 0.3) & (X[:, 0] + X[:, 1] < 1.6) & \
         (X[:, 0] - X[:, 1] < 0.45)
flip = np.random.uniform(0, 1, nsamp) < 0.08
y = (inside ^ flip).astype(int)


class Net(nn.Module):
    def __init__(self, input_size, hidden_size):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.activation = nn.Sigmoid()
        self.fc2 = nn.Linear(hidden_size, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        x = self.fc1(x)
        x = self.activation(x)
        x = self.fc2(x)
        x = self.sigmoid(x)
        return x


torch.manual_seed(0)
nin = nx
nh = 4
model = Net(nin, nh)
print(model)

# tensors: from numpy and back, indexing
x1 = torch.tensor([1, 2, 3])
x2 = torch.tensor([[1, 2, 3], [4, 5, 6]])
x3 = torch.arange(12).reshape(4, 3)
y3 = x3[1:3, 1:]
print(x3)
print(y3)
x_numpy = x3.numpy()
x_torch = torch.from_numpy(x_numpy)

X_torch = torch.tensor(X, dtype=torch.float32)
y_torch = torch.tensor(y, dtype=torch.float32)[:, None]
y_int = torch.tensor(y)[:, None]
dataset = TensorDataset(X_torch, y_torch)
batch_size = 100
data_loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)

criterion = nn.BCELoss()
optimizer = optim.Adam(model.parameters(), lr=0.03)

lossval = []
epochval = []
accval = []
num_epochs = 1000
for epoch in range(num_epochs):
    for inputs, labels in data_loader:
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        outputs = model(X_torch)
        predicted = (outputs > 0.5)
        accuracy = torch.sum(predicted == y_int).item() / y_int.size(0)
    lossval.append(loss.item())
    epochval.append(epoch)
    accval.append(accuracy)
    if (epoch + 1) % 20 == 0:
        print(f'Epoch [{epoch+1}/{num_epochs}], Loss: {loss.item():.4f}, Accuracy: {accuracy:.4f}')

xmin = [0, 0]
xmax = [1, 1]
nplot = 100
x0plot = np.linspace(xmin[0], xmax[1], nplot)
x1plot = np.linspace(xmin[0], xmax[1], nplot)
x0mat, x1mat = np.meshgrid(x0plot, x1plot)
Xplot = np.column_stack([x0mat.ravel(), x1mat.ravel()])
with torch.no_grad():
    yplot = model(torch.tensor(Xplot, dtype=torch.float32))
yplot = yplot.numpy()
yplot_mat = yplot[:, 0].reshape((nplot, nplot))
plt.imshow(np.flipud(yplot_mat), extent=[xmin[0], xmax[0], xmin[0], xmax[1]], cmap=plt.cm.Reds)
plt.colorbar()
I0 = np.where(y == 0)[0]
I1 = np.where(y == 1)[0]
plt.plot(X[I0, 0], X[I0, 1], 'bo')
plt.plot(X[I1, 0], X[I1, 1], 'go')
plt.show()


class ModelAct(nn.Module):
    """The first layer and its activation of a trained Net: the hidden units' outputs."""

    def __init__(self, original_model):
        super(ModelAct, self).__init__()
        self.fc1 = original_model.fc1
        self.activation = original_model.activation

    def forward(self, x):
        x = self.fc1(x)
        x = self.activation(x)
        return x


model_act = ModelAct(model)
with torch.no_grad():
    zhid = model_act(torch.tensor(Xplot, dtype=torch.float32)).numpy()
zhid = zhid.reshape((nplot, nplot, nh))
for i in range(nh):
    plt.subplot(1, nh, i + 1)
    plt.imshow(np.flipud(zhid[:, :, i]), extent=[xmin[0], xmax[0], xmin[0], xmax[1]], cmap=plt.cm.Reds)
plt.show()
